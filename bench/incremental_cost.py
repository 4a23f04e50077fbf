"""What an incremental run costs: detail requests against the ones it needs, and the size of what
the state remembers of the open invoices as their number grows.

    .venv/bin/python bench/incremental_cost.py 5000 10000

Part 1 runs the real tap twice over a sandbox whose newest 10 invoices are unpaid (the usual
case), with 10 invoices added between the runs. The second run needs the details of the
invoices open after the first run plus the new ones; anything more is waste. Part 2 remembers
16,000 to 100,000 open invoices as each provider's plan does (CyberSource: an id like 104711
with its line-item and history counts; PayPal: an id like INV2-XXXX-XXXX-XXXX-XXXX with its
line-item count and its payment and refund keys, none or one each) and prints the bytes of the
state that keeps them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tap_invoicing.core.plans.remembered import InvoiceChildren, RememberedInvoices
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


SHAPES: dict[str, tuple[str, InvoiceChildren]] = {
    "cybersource": ("{n}", {"invoice_line_items": 3, "invoice_history": 4}),
    "paypal": (
        "INV2-{n:04X}-7VO1-7826-FRFZ",
        {"invoice_line_items": 3, "invoice_payments": [], "invoice_refunds": []},
    ),
    "paypal, paid in part": (
        "INV2-{n:04X}-7VO1-7826-FRFZ",
        {
            "invoice_line_items": 3,
            "invoice_payments": ["EXTERNAL-4f1c2a9b0e7d6c53-1"],
            "invoice_refunds": ["2PX96385VY6172335"],
        },
    ),
}
"""Per provider: how an open invoice's id looks, and its rows as the state keeps them."""


def remembered_bytes(provider: str, open_count: int) -> int:
    """Bytes of the state's ``remembered`` for ``open_count`` open invoices."""
    id_format, children = SHAPES[provider]
    remembered = RememberedInvoices()
    for n in range(100_000, 100_000 + open_count):
        remembered.keep(id_format.format(n=n), children)
    return len(json.dumps(remembered.to_state(), separators=(",", ":")))


def main() -> None:
    """Print both tables."""
    sizes = [int(argument) for argument in sys.argv[1:]] or [5000]
    print("1. Second run, newest 10 unpaid, 10 added between runs")
    print(f"{'invoices':>9} {'detail requests':>16} {'needed':>7} {'waste':>6} {'state bytes':>12}")
    for size in sizes:
        requests, needed, state_bytes = incremental(size)
        waste = requests - needed
        print(f"{size:>9,} {requests:>16,} {needed:>7,} {waste:>6,} {state_bytes:>12,}")
    print("\n2. What the state remembers of the open invoices (for their tombstones)")
    print(f"{'provider':>20} {'open':>9} {'state bytes':>12} {'bytes/open':>11}")
    for provider in SHAPES:
        for open_count in (16_000, 100_000):
            size = remembered_bytes(provider, open_count)
            print(f"{provider:>20} {open_count:>9,} {size:>12,} {size / open_count:>11.2f}")


if __name__ == "__main__":
    main()
