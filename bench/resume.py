"""What a stopped first pass costs the run that resumes it, and what checkpoints cost.

    .venv/bin/python bench/resume.py            # 1,000 invoices; --invoices N for more

1. A CyberSource first pass over ``--invoices`` invoices (each detail 50 ms, 4 at a time) is
   stopped once 60% of them are written, by SIGKILL and by SIGTERM; a run from the last STATE it
   wrote resumes. Its detail requests are compared with the allowance: the invoices not yet
   written + the open ones among those written + those written since the last checkpoint
   (nothing after SIGTERM, which writes one on the way out) + 2%.
2. A checkpoint of a pass over 100,000 invoices, a fifth of them open: its bytes, and the time it
   takes to make and encode (one every 5 s at most, or every 1,000 invoices written).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tap_invoicing.core.bookmark import BookmarkScope
from tap_invoicing.core.plans.open_invoices import OpenInvoicePlan
from tap_invoicing.providers.cybersource.api import RULES
from tap_invoicing.sandbox import Sandbox

TAP = str(Path(sys.executable).parent / "tap-invoicing")
CLOSED = {"PAID", "CANCELED"}


def stopped(config: Path, signum: int, records: int) -> tuple[set[str], dict[str, Any]]:
    """The invoices a real run wrote until it got ``signum``, and its last STATE."""
    written: set[str] = set()
    state: dict[str, Any] = {}
    with subprocess.Popen(
        [TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as tap:
        assert tap.stdout is not None
        for line in tap.stdout:
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "STATE":
                state = message["value"]
            elif message["type"] == "RECORD" and message["stream"] == "invoices":
                written.add(message["record"]["id"])
                if len(written) == records:
                    tap.send_signal(signum)
    return written, state


def resumed_requests(sandbox: Sandbox, config: Path, state: dict[str, Any], tmp: Path) -> int:
    """Detail requests of a run from ``state``, to its end."""
    state_path = tmp / "state.json"
    state_path.write_text(json.dumps(state))
    sandbox.clear_requests()
    arguments = [TAP, "--config", str(config), "--state", str(state_path)]
    subprocess.run(arguments, capture_output=True, check=True)
    return len(set(sandbox.detail_requests()))


def resume_rows(invoices: int) -> list[str]:
    rows = []
    for signum in (signal.SIGKILL, signal.SIGTERM):
        with Sandbox(invoices=invoices, seed=9, latency=0.05) as sandbox:
            with tempfile.TemporaryDirectory() as tmp:
                config = Path(tmp) / "config.json"
                config.write_text(json.dumps({**sandbox.tap_config(), "max_workers": 4}))
                written, state = stopped(config, signum, records=invoices * 6 // 10)
                bookmark = state["bookmarks"]["invoices"]
                claimed = bookmark["resume"]["listed"] + len(bookmark["resume"]["ahead"])
                read = resumed_requests(sandbox, config, state, Path(tmp))
            still_open = sum(sandbox.invoice(i)["status"] not in CLOSED for i in written)
        since = 0 if signum == signal.SIGTERM else max(0, len(written) - claimed)
        allowance = invoices - len(written) + still_open + since + invoices // 50
        rows.append(
            f"{signal.Signals(signum).name:>8} {len(written):>8,} {claimed:>8,} {still_open:>6,} "
            f"{since:>6,} {allowance:>10,} {read:>8,}"
        )
    return rows


def checkpoint_row(invoices: int = 100_000) -> str:
    scope = BookmarkScope("cybersource", "https://api.cybersource.com", "a", None, ("invoices",))
    plan = OpenInvoicePlan(None, scope, RULES)
    plan.note_page(
        {"submitTimeUtc": "2026-12-07T00:00:00Z"}, [str(n) for n in range(10)], None, None
    )
    for n in range(invoices):
        invoice_id, status = str(100_000 + n), "SENT" if n % 5 == 0 else "PAID"
        plan.needs_detail(invoice_id, {"status": status})
        children = {"invoice_line_items": 3, "invoice_history": 4}
        plan.note_read(invoice_id, {"status": status}, children)
    started = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        text = json.dumps(plan.checkpoint("submitTimeUtc", ["199999"], [], invoices))
    seconds = (time.perf_counter() - started) / rounds
    return (
        f"{invoices:>9,} {invoices // 5:>7,} {len(text):>12,} {seconds * 1000:>8.1f} ms"
        f" {seconds / 5:>8.1%} of 5 s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    args = parser.parse_args()
    print(f"1. CyberSource first pass over {args.invoices:,} invoices, stopped at 60%")
    print(
        f"{'signal':>8} {'written':>8} {'claimed':>8} {'open':>6} {'since':>6} "
        f"{'allowance':>10} {'read':>8}"
    )
    print("\n".join(resume_rows(args.invoices)))
    print("\n2. A checkpoint")
    print(f"{'invoices':>9} {'open':>7} {'bytes':>12} {'to make':>11} {'cost':>17}")
    print(checkpoint_row())


if __name__ == "__main__":
    main()
