"""State size against account size: run the real tap-invoicing over sandboxes of growing size.

    .venv/bin/python bench/state_size.py 100 2000 20000

Prints, per size, the open invoices, the bytes of the final STATE and how many STATE messages
the run wrote. The state should stay flat: it must not grow with the number of invoices.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tap_invoicing.sandbox import Sandbox

TAP = str(Path(sys.executable).parent / "tap-invoicing")
CLOSED = {"PAID", "CANCELED"}


def measure(invoices: int) -> tuple[int, int, int]:
    """(open invoices, final state bytes, state messages) of a first run."""
    with (
        Sandbox(provider="cybersource", invoices=invoices, seed=5) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = Path(tmp) / "config.json"
        sandbox.write_config(config)
        output = subprocess.run(
            [TAP, "--config", str(config)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        states = [json.loads(line)["value"] for line in output.splitlines() if '"STATE"' in line]
        still_open = sum(sandbox.invoice(i)["status"] not in CLOSED for i in sandbox.invoice_ids())
        return still_open, len(json.dumps(states[-1])), len(states)


def main() -> None:
    """Print one row per account size given on the command line."""
    sizes = [int(argument) for argument in sys.argv[1:]] or [100, 2000]
    print(f"{'invoices':>9} {'open':>7} {'state bytes':>12} {'STATE messages':>15}")
    for size in sizes:
        still_open, state_bytes, messages = measure(size)
        print(f"{size:>9} {still_open:>7} {state_bytes:>12} {messages:>15}")


if __name__ == "__main__":
    main()
