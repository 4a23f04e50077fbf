"""What a stopped first pass costs the run that resumes it, and what checkpoints cost.

    .venv/bin/python bench/resume.py      # 1,000 invoices; --invoices N, --checkpoint-invoices N

1. For each provider and listing, a first pass over ``--invoices`` invoices (each detail 50 ms,
   4 at a time) is stopped once 60% of them are written, by SIGKILL and by SIGTERM; a run from
   the last STATE it printed resumes. Its detail requests are compared with the allowance: the
   invoices not yet written + the open ones among those written (by the plan's rules: Revolv3's
   reads none again, it goes by update time) + those written after the last STATE printed
   (nothing after SIGTERM, which prints one on the way out) + 2%. ``lost``: invoices neither
   run wrote.
2. For each provider, a real first pass over ``--checkpoint-invoices`` invoices (100,000), in
   this process: its checkpoints' number and largest size, and the time spent making and
   writing them against the whole run's.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

from tap_invoicing.core import engine
from tap_invoicing.providers.cybersource.api import is_open
from tap_invoicing.providers.paypal.api import changes_unseen
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.tap import TapInvoicing

TAP = str(Path(sys.executable).parent / "tap-invoicing")


@dataclass(frozen=True)
class Case:
    """A provider and the listing its first pass uses with ``config``."""

    provider: str
    listing: str
    read_again: Callable[[Mapping[str, Any]], bool]
    """Whether the plan reads an invoice written before the stop again (its current detail)."""
    config: Mapping[str, Any] = field(default_factory=dict)


def never(_: Mapping[str, Any]) -> bool:
    return False


CASES = [
    Case("cybersource", "offset list", is_open),
    Case("paypal", "page-number list", changes_unseen),
    Case("paypal", "search windows", changes_unseen, {"start_date": "2000-01-01T00:00:00Z"}),
    Case("revolv3", "one update window", never),
    Case("revolv3", "split windows", never, {"page_size": 50, "max_list_pages": 2}),
]


@dataclass
class Stopped:
    written: set[str] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)
    since_state: int = 0
    """Invoices written after the last STATE printed."""


def stopped(config: Path, signum: int, records: int) -> Stopped:
    """What a real run wrote until it got ``signum`` once ``records`` invoices were written."""
    run, key = Stopped(), "id"
    with subprocess.Popen(
        [TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as tap:
        assert tap.stdout is not None
        for line in tap.stdout:
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "SCHEMA" and message["stream"] == "invoices":
                [key] = message["key_properties"]
            elif message["type"] == "STATE":
                run.state, run.since_state = message["value"], 0
            elif message["type"] == "RECORD" and message["stream"] == "invoices":
                run.written.add(str(message["record"][key]))
                run.since_state += 1
                if len(run.written) == records:
                    tap.send_signal(signum)
    return run


def resumed(
    sandbox: Sandbox, config: Path, state: dict[str, Any], tmp: Path
) -> tuple[int, set[str]]:
    """Detail requests of a run from ``state`` to its end, and the invoices it wrote."""
    state_path = tmp / "state.json"
    state_path.write_text(json.dumps(state))
    sandbox.clear_requests()
    arguments = [TAP, "--config", str(config), "--state", str(state_path)]
    out = subprocess.run(arguments, capture_output=True, check=True, text=True).stdout
    messages = [json.loads(line) for line in out.splitlines()]
    [key] = next(m["key_properties"] for m in messages if m.get("stream") == "invoices")
    written = {
        str(m["record"][key])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "invoices"
    }
    return len(set(sandbox.detail_requests())), written


def resume_row(case: Case, signum: int, invoices: int) -> str:
    with Sandbox(provider=case.provider, invoices=invoices, seed=9, latency=0.05) as sandbox:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.json"
            settings = {**sandbox.tap_config(), "max_workers": 4, **case.config}
            config.write_text(json.dumps(settings))
            run = stopped(config, signum, records=invoices * 6 // 10)
            read, written_after = resumed(sandbox, config, run.state, Path(tmp))
        still_open = sum(case.read_again(sandbox.invoice(i)) for i in run.written)
        lost = len(set(sandbox.invoice_ids()) - run.written - written_after)
    since = 0 if signum == signal.SIGTERM else run.since_state
    allowance = invoices - len(run.written) + still_open + since + invoices // 50
    return (
        f"{case.provider:<12} {case.listing:<18} {signal.Signals(signum).name:>8} "
        f"{len(run.written):>8,} {still_open:>6,} {run.since_state:>6,} {allowance:>10,} "
        f"{read:>6,} {lost:>5,}"
    )


class StateSizes(io.TextIOWrapper):
    """Stands in for stdout: keeps only the size of each STATE message the tap writes to its
    binary ``buffer``, one message per write."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")
        self.sizes: list[int] = []

    @property
    def buffer(self) -> Any:
        return self

    def write(self, data: Any) -> int:
        if data[:20].replace(b" ", b"").startswith(b'{"type":"STATE"'):
            self.sizes.append(len(data))
        return len(data)


@contextmanager
def timed_checkpoints() -> Iterator[list[float]]:
    """The seconds each checkpoint took to make and write, while the block runs."""
    spent: list[float] = []
    original = engine.InvoiceRun._checkpoint

    def timed(run: engine.InvoiceRun) -> None:
        started = time.perf_counter()
        original(run)
        spent.append(time.perf_counter() - started)

    with patch.object(engine.InvoiceRun, "_checkpoint", timed):
        yield spent


def checkpoint_row(provider: str, invoices: int) -> str:
    unlimited = provider == "revolv3"  # its documented rate limits, off: not what is measured
    options: dict[str, Any] = {"rate_limits": ()} if unlimited else {}
    with Sandbox(provider=provider, invoices=invoices, seed=10, **options) as sandbox:
        config: dict[str, Any] = {**sandbox.tap_config(), "max_workers": 8}
        if unlimited:
            config["max_requests_per_second"] = 1000
        out = StateSizes()
        started = time.perf_counter()
        with timed_checkpoints() as spent, redirect_stdout(out):
            TapInvoicing(config=config).sync_all()
        seconds = time.perf_counter() - started
    checkpoints = out.sizes[:-1]
    return (
        f"{provider:<12} {invoices:>9,} {len(checkpoints):>6,} {max(checkpoints):>12,} "
        f"{out.sizes[-1]:>12,} {sum(spent):>8.2f} s {seconds:>8.1f} s {sum(spent) / seconds:>6.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--checkpoint-invoices", type=int, default=100_000)
    args = parser.parse_args()
    print(f"1. A first pass over {args.invoices:,} invoices, stopped at 60%, then resumed")
    print(
        f"{'provider':<12} {'listing':<18} {'signal':>8} {'written':>8} {'open':>6} "
        f"{'since':>6} {'allowance':>10} {'read':>6} {'lost':>5}"
    )
    for case in CASES:
        for signum in (signal.SIGKILL, signal.SIGTERM):
            print(resume_row(case, signum, args.invoices), flush=True)
    print(f"\n2. The checkpoints of a first pass over {args.checkpoint_invoices:,} invoices")
    print(
        f"{'provider':<12} {'invoices':>9} {'count':>6} {'largest bytes':>12} "
        f"{'final bytes':>12} {'making':>10} {'run':>10} {'cost':>6}"
    )
    for provider in ("cybersource", "paypal", "revolv3"):
        print(checkpoint_row(provider, args.checkpoint_invoices), flush=True)


if __name__ == "__main__":
    main()
