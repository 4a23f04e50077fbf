"""PayPal: concurrency against one at a time, token requests, and what an incremental run reads.

The sandbox answers every request after ``--latency-ms``. The real ``tap-invoicing`` command runs
with default settings (output to /dev/null) over ``--invoices`` invoices listed as summaries, so
each costs a detail request on a first run:

1. a first run with ``max_workers`` 1, 8 and ``auto`` (the default): wall time, and the speedup
   over the sequential lower bound (requests x latency);
2. the token requests of each run (one per run, while the token lives);
3. an incremental run after a few changes (payments, a refund on an invoice paid at the first
   run, a cancellation, new invoices): its detail requests as a share of the account.

    .venv/bin/python bench/paypal.py            # or: make bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tap_invoicing.core.run_settings import AUTO
from tap_invoicing.providers.paypal.api import changes_unseen
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.paypal import PayPalEmulator

TAP = str(Path(sys.executable).parent / "tap-invoicing")
OPEN = ("SENT", "UNPAID")


def run_tap(config: Path, state: dict[str, Any] | None, tmp: Path) -> tuple[float, dict[str, Any]]:
    """One real run: its wall time and its last STATE."""
    command = [TAP, "--config", str(config)]
    if state is not None:
        (tmp / "state.json").write_text(json.dumps(state))
        command += ["--state", str(tmp / "state.json")]
    started = time.monotonic()
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=1800
    ).stdout
    wall = time.monotonic() - started
    states: list[dict[str, Any]] = [
        json.loads(line)["value"] for line in output.splitlines() if '"STATE"' in line
    ]
    return wall, states[-1]


def counts(sandbox: Sandbox) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for record in sandbox.requests:
        kinds[record.kind] = kinds.get(record.kind, 0) + 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    rows = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for workers in (1, 8, AUTO):
            with Sandbox(provider="paypal", invoices=args.invoices, latency=latency) as sandbox:
                config = tmp / "config.json"
                config.write_text(json.dumps({**sandbox.tap_config(), "max_workers": workers}))
                wall, state = run_tap(config, None, tmp)
                kinds = counts(sandbox)
                requests = sum(kinds.values())
                rows.append((workers, requests, kinds.get("token", 0), wall, requests * latency))
                if workers == AUTO:
                    statuses = {i: sandbox.invoice(i)["status"] for i in sandbox.invoice_ids()}
                    unpaid = [i for i, status in statuses.items() if status in OPEN]
                    paid = [i for i, status in statuses.items() if status == "PAID"]
                    api = sandbox.api
                    assert isinstance(api, PayPalEmulator)
                    for invoice_id in unpaid[:5]:
                        api.pay(invoice_id)
                    api.refund(paid[0])
                    api.cancel(unpaid[5])
                    api.add(5)
                    sandbox.clear_requests()
                    run_tap(config, state, tmp)
                    incremental = counts(sandbox)
                    open_now = sum(
                        1 for i in sandbox.invoice_ids() if changes_unseen(sandbox.invoice(i))
                    )
    print(f"PayPal, {args.invoices:,} invoices, {args.latency_ms:g} ms latency, default settings")
    print(f"{'workers':>7}{'requests':>10}{'tokens':>8}{'wall s':>9}{'lower s':>9}{'speedup':>9}")
    for workers, requests, tokens, wall, lower in rows:
        speedup = lower / wall
        print(f"{workers:>7}{requests:>10}{tokens:>8}{wall:>9.2f}{lower:>9.2f}{speedup:>8.2f}x")
    details = incremental.get("detail", 0)
    print(
        f"incremental run after 5 payments, 1 refund of a paid invoice, 1 cancellation and 5 new "
        f"invoices: {details} detail requests = {details / args.invoices:.1%} of the account: "
        f"{open_now} open invoices (read every run) and {details - open_now} settled ones, "
        f"{incremental.get('list', 0)} list pages, {incremental.get('token', 0)} token request"
    )


if __name__ == "__main__":
    main()
