"""What an incremental run costs: detail requests against the ones it needs, and the open-invoice
filter's false positives and size as the number of open invoices grows.

    .venv/bin/python bench/incremental_cost.py 5000 10000

Part 1 runs the real tap twice over a sandbox whose newest 10 invoices are unpaid (the usual
case), with 10 invoices added between the runs. The second run needs the details of the
invoices open after the first run plus the new ones; anything more is waste. Part 2 fills the
filter with 16,000 to 100,000 open ids and probes it with 200,000 others.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tap_invoicing.core.plans.open_invoices import OpenInvoiceFilter, id_digest
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.cybersource import CyberSourceEmulator

TAP = str(Path(sys.executable).parent / "tap-invoicing")
CLOSED = {"PAID", "CANCELED"}


def run_tap(config: Path, state: dict[str, Any] | None, tmp: str) -> dict[str, Any]:
    """The final STATE of one real run."""
    arguments = [TAP, "--config", str(config)]
    if state is not None:
        state_path = Path(tmp) / "state.json"
        state_path.write_text(json.dumps(state))
        arguments += ["--state", str(state_path)]
    output = subprocess.run(arguments, capture_output=True, text=True, check=True).stdout
    states: list[dict[str, Any]] = [
        json.loads(line)["value"] for line in output.splitlines() if '"STATE"' in line
    ]
    return states[-1]


def incremental(invoices: int) -> tuple[int, int, int]:
    """(detail requests of the second run, details it needed, state bytes)."""
    with Sandbox(invoices=invoices, seed=5) as sandbox, tempfile.TemporaryDirectory() as tmp:
        api = sandbox.api
        assert isinstance(api, CyberSourceEmulator)
        api.add(10, status="SENT")
        config = sandbox.write_config(Path(tmp) / "config.json")
        state = run_tap(config, None, tmp)
        was_open = {i for i in sandbox.invoice_ids() if sandbox.invoice(i)["status"] not in CLOSED}
        new = api.add(10, status="SENT")
        sandbox.clear_requests()
        final = run_tap(config, state, tmp)
        return len(sandbox.detail_requests()), len(was_open | set(new)), len(json.dumps(final))


def filter_row(open_count: int, probes: int = 200_000) -> tuple[float, int]:
    """(false-positive rate, base64 bytes in the state) for ``open_count`` open invoices."""
    remembered = OpenInvoiceFilter.of({id_digest(f"open-{n}") for n in range(open_count)})
    false_positives = sum(f"closed-{n}" in remembered for n in range(probes))
    return false_positives / probes, len(remembered.to_state()["data"])


def main() -> None:
    """Print both tables."""
    sizes = [int(argument) for argument in sys.argv[1:]] or [5000]
    print("1. Second run, newest 10 unpaid, 10 added between runs")
    print(f"{'invoices':>9} {'detail requests':>16} {'needed':>7} {'waste':>6} {'state bytes':>12}")
    for size in sizes:
        requests, needed, state_bytes = incremental(size)
        waste = requests - needed
        print(f"{size:>9,} {requests:>16,} {needed:>7,} {waste:>6,} {state_bytes:>12,}")
    print("\n2. Open-invoice filter, probed with 200,000 other ids")
    print(f"{'open':>9} {'false positives':>16} {'state bytes':>12} {'bytes/open':>11}")
    for open_count in (16_000, 30_000, 50_000, 100_000):
        rate, size = filter_row(open_count)
        print(f"{open_count:>9,} {rate:>15.3%} {size:>12,} {size / open_count:>11.2f}")


if __name__ == "__main__":
    main()
