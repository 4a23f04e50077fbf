"""How fast tap-invoicing extracts, against the bundled sandbox: the numbers behind max_workers.

Three measurements, each running the real ``tap-invoicing`` command (output to /dev/null):

1. Latency: the sandbox answers every request after ``--latency-ms``; the tap runs with
   ``max_workers=1`` and with the default. The ideal is requests x latency / workers.
2. Zero latency: the tap against ``bench/baseline.py``, the least a client can do to make the
   same requests (requests + json + print) on as many threads.
3. Memory: peak RSS of a default run over ``--rss-invoices`` (it should not grow with them).

Wall seconds run from process start to exit, start-up included; each figure is the median of
``--repeat`` runs.

    .venv/bin/python bench/throughput.py            # or: make bench
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import tap_invoicing
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.settings import DEFAULT_MAX_WORKERS

BIN = Path(sys.executable).parent
TAP = [str(BIN / "tap-invoicing")]
BASELINE = [sys.executable, str(Path(__file__).with_name("baseline.py"))]


@dataclass
class Run:
    """One process run against the sandbox."""

    invoices: int
    requests: int
    wall: float
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.invoices / self.wall


def peak_rss_mb(process: subprocess.Popen, peak: list[float]) -> None:
    """Follow a process's peak resident memory (VmHWM) until it exits.

    Read from /proc because ``wait4``'s ru_maxrss would also count the pages the child shared
    with this process (and its in-memory sandbox) between fork and exec.
    """
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):  # a high-water mark: the last reading is the peak
                    peak[0] = int(line.split()[1]) / 1024
        time.sleep(0.02)


def run(command: list[str], sandbox: Sandbox, config: dict, workdir: Path) -> Run:
    """Run a client to completion against the sandbox; wall time, requests and peak RSS."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    sandbox.clear_requests()
    peak: list[float] = [0.0]
    started = time.monotonic()
    with Path(os.devnull).open("wb") as sink, (workdir / "stderr.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--config", str(config_path)], stdout=sink, stderr=log
        )
        watcher = threading.Thread(target=peak_rss_mb, args=(process, peak))
        watcher.start()
        status = process.wait()
        wall = time.monotonic() - started
        watcher.join()
    if status != 0:
        sys.exit(f"{command[-1]} failed; its log is in {workdir / 'stderr.log'}")
    invoices = sum(1 for r in sandbox.requests if r.kind == "detail" and r.status == 200)
    return Run(invoices, len(sandbox.requests), wall, peak[0])


def median_run(
    command: list[str], sandbox: Sandbox, config: dict, workdir: Path, repeat: int
) -> Run:
    """The run with the median wall time of ``repeat``."""
    runs = sorted(
        (run(command, sandbox, config, workdir) for _ in range(repeat)), key=lambda r: r.wall
    )
    return runs[len(runs) // 2]


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table, columns right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    )


def latency_benchmark(args: argparse.Namespace, workdir: Path) -> list[str]:
    latency = args.latency_ms / 1000
    checks = []
    with Sandbox(invoices=args.invoices, seed=args.seed, latency=latency) as sandbox:
        rows, sequential = [], None
        for workers in (1, DEFAULT_MAX_WORKERS):
            config = {**sandbox.tap_config(), "max_workers": workers}
            result = median_run(TAP, sandbox, config, workdir, 1 if workers == 1 else args.repeat)
            sequential = sequential or result
            ideal = result.requests * latency / workers
            speedup = sequential.wall / result.wall
            rows.append(
                [
                    str(workers),
                    f"{result.invoices:,}",
                    f"{result.requests:,}",
                    f"{result.wall:.2f}",
                    f"{result.per_second:,.1f}",
                    f"{speedup:.2f}x",
                    f"{ideal:.2f}",
                    f"{result.wall / ideal:.2f}",
                ]
            )
        checks += [
            f"speedup {speedup:.2f}x (target >= 6.5x)",
            f"{result.wall / ideal:.2f}x the ideal (target <= 1.3x)",
        ]
    header = [
        "workers",
        "invoices",
        "requests",
        "wall s",
        "invoices/s",
        "speedup",
        "ideal s",
        "vs ideal",
    ]
    print(f"\n1. {args.latency_ms:g} ms per request, {args.invoices:,} invoices", end=" ")
    print(f"(median of {args.repeat})")
    print(table(header, rows))
    return checks


def zero_latency_benchmark(args: argparse.Namespace, workdir: Path) -> list[str]:
    workers = DEFAULT_MAX_WORKERS
    with Sandbox(invoices=args.invoices, seed=args.seed) as sandbox:
        config = sandbox.tap_config()
        baseline = median_run(
            [*BASELINE, "--workers", str(workers)], sandbox, config, workdir, args.repeat
        )
        tap = median_run(TAP, sandbox, {**config, "max_workers": workers}, workdir, args.repeat)
    share = tap.per_second / baseline.per_second
    rows = [
        [
            name,
            str(workers),
            f"{r.invoices:,}",
            f"{r.requests:,}",
            f"{r.wall:.2f}",
            f"{r.per_second:,.1f}",
            f"{r.per_second / baseline.per_second:.0%}",
        ]
        for name, r in (("baseline", baseline), ("tap-invoicing", tap))
    ]
    print(f"\n2. No added latency, {args.invoices:,} invoices (median of {args.repeat})")
    print(
        table(
            ["client", "workers", "invoices", "requests", "wall s", "invoices/s", "of baseline"],
            rows,
        )
    )
    return [f"{share:.0%} of the baseline's invoices/s (target >= 50%)"]


def memory_benchmark(args: argparse.Namespace, workdir: Path) -> list[str]:
    rows, peaks = [], []
    for invoices in args.rss_invoices:
        with Sandbox(invoices=invoices, seed=args.seed) as sandbox:
            result = run(TAP, sandbox, sandbox.tap_config(), workdir)
        peaks.append(result.peak_rss_mb)
        rows.append(
            [
                f"{invoices:,}",
                f"{result.wall:.1f}",
                f"{result.peak_rss_mb:.1f}",
                f"{result.peak_rss_mb / peaks[0] - 1:+.1%}",
            ]
        )
    print("\n3. Peak memory, default settings")
    print(table(["invoices", "wall s", "peak RSS MB", "vs first"], rows))
    growth = peaks[-1] / peaks[0] - 1
    sizes = f"{args.rss_invoices[0]:,} to {args.rss_invoices[-1]:,} invoices"
    return [f"peak RSS {growth:+.1%} from {sizes} (target within 25%)"]


def main() -> None:
    """Run the three benchmarks and print their tables and the targets they check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rss-invoices", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    # Installed from a wheel, the package comes compiled; an editable checkout run under
    # PYTHONDONTWRITEBYTECODE would compile itself at every start and time that instead.
    compileall.compile_dir(Path(tap_invoicing.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="tap-invoicing-bench-") as tmp:
        workdir = Path(tmp)
        checks = latency_benchmark(args, workdir)
        checks += zero_latency_benchmark(args, workdir)
        checks += memory_benchmark(args, workdir)
    print("\nTargets:")
    print("\n".join(f"  {check}" for check in checks))


if __name__ == "__main__":
    main()
