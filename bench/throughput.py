"""How fast tap-invoicing extracts, against the bundled sandbox: the numbers behind max_workers.

Each measurement runs the real ``tap-invoicing`` command (output to /dev/null):

1. Latency: the sandbox answers every request after 20, 100 and 300 ms; the tap runs with
   default settings (``max_workers: auto``), with the old fixed default of 8, and with every
   fixed count of a sweep, the best of which is shown. The sequential lower bound is
   requests x latency: the time one request at a time would take.
2. Load shedding: at 100 ms, the sandbox answers 429 above 24 requests in flight (with and
   without ``Retry-After: 1``): default settings against fixed pools.
3. Zero latency: the tap against ``bench/baseline.py``, the least a client can do to make the
   same requests (requests + json + print), its CPU per request, and the start-up time.
4. Memory: peak RSS of a default run over ``--rss-invoices`` (it should not grow with them).

Wall seconds run from process start to exit, start-up included; the default runs take the median
of ``--repeat``, sweep points one run each.

    .venv/bin/python bench/throughput.py            # or: make bench
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tap_invoicing
from tap_invoicing.sandbox import Sandbox

BIN = Path(sys.executable).parent
TAP = [str(BIN / "tap-invoicing")]
BASELINE = [sys.executable, str(Path(__file__).with_name("baseline.py"))]


SWEEP = (8, 16, 24, 32, 48, 64)
"""Fixed worker counts tried to find the best one at each latency."""
SHED_ABOVE = 24


@dataclass
class Run:
    """One process run against the sandbox."""

    invoices: int
    requests: int
    refused: int
    wall: float
    cpu: float
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.invoices / self.wall

    def lower_bound(self, latency: float) -> float:
        """Seconds one request at a time would take for the requests that were needed."""
        return (self.requests - self.refused) * latency

    def speedup(self, latency: float) -> str:
        return f"{self.lower_bound(latency) / self.wall:.1f}x"

    @property
    def refused_share(self) -> str:
        return f"{self.refused / self.requests:.1%}"


def peak_rss_mb(process: subprocess.Popen[bytes], peak: list[float]) -> None:
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


def run(command: list[str], sandbox: Sandbox, config: dict[str, Any], workdir: Path) -> Run:
    """Run a client to completion against the sandbox; wall time, requests and peak RSS."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    sandbox.clear_requests()
    peak: list[float] = [0.0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if status != 0:
        sys.exit(f"{command[-1]} failed; its log is in {workdir / 'stderr.log'}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    requests = sandbox.requests
    invoices = sum(1 for r in requests if r.kind == "detail" and r.status == 200)
    refused = sum(1 for r in requests if r.status == 429)
    return Run(invoices, len(requests), refused, wall, cpu, peak[0])


def median_run(
    command: list[str], sandbox: Sandbox, config: dict[str, Any], workdir: Path, repeat: int
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
    rows, checks = [], []
    for latency_ms in args.latencies_ms:
        latency = latency_ms / 1000
        with Sandbox(invoices=args.invoices, seed=args.seed, latency=latency) as sandbox:
            config = sandbox.tap_config()
            auto = median_run(TAP, sandbox, config, workdir, args.repeat)
            sweep = {
                workers: run(TAP, sandbox, {**config, "max_workers": workers}, workdir)
                for workers in SWEEP
            }
        best = min(sweep, key=lambda workers: sweep[workers].wall)
        for name, result in (
            ("auto (default)", auto),
            ("fixed 8", sweep[8]),
            (f"fixed {best} (best of sweep)", sweep[best]),
        ):
            rows.append(
                [
                    f"{latency_ms:g} ms",
                    name,
                    f"{result.requests:,}",
                    f"{result.wall:.2f}",
                    f"{result.lower_bound(latency):.1f}",
                    result.speedup(latency),
                    f"{result.wall / sweep[best].wall:.2f}x",
                ]
            )
        if latency_ms == 20:
            checks.append(f"20 ms: auto {auto.speedup(latency)} the lower bound (target >= 6.5x)")
        else:
            ratio = auto.wall / sweep[best].wall
            checks.append(
                f"{latency_ms:g} ms: auto {ratio:.2f}x the best fixed count's time (target <= 1.3x)"
            )
    header = ["latency", "max_workers", "requests", "wall s", "lower s", "speedup", "vs best"]
    print(f"\n1. Latency, {args.invoices:,} invoices (auto: median of {args.repeat})")
    print(table(header, rows))
    return checks


def shedding_benchmark(args: argparse.Namespace, workdir: Path) -> list[str]:
    latency, rows, checks = 0.1, [], []
    for retry_after in (True, False):
        with Sandbox(
            invoices=args.invoices,
            seed=args.seed,
            latency=latency,
            shed_above=SHED_ABOVE,
            shed_retry_after=retry_after,
        ) as sandbox:
            config = sandbox.tap_config()
            results = [("auto (default)", median_run(TAP, sandbox, config, workdir, args.repeat))]
            results += [
                (f"fixed {workers}", run(TAP, sandbox, {**config, "max_workers": workers}, workdir))
                for workers in (8, 32)
            ]
        header = "Retry-After: 1" if retry_after else "no Retry-After"
        for name, result in results:
            rows.append(
                [
                    header,
                    name,
                    f"{result.requests:,}",
                    f"{result.refused:,}",
                    result.refused_share,
                    f"{result.wall:.2f}",
                    result.speedup(latency),
                ]
            )
        auto = results[0][1]
        checks.append(
            f"shedding above {SHED_ABOVE}, {header}: auto {auto.speedup(latency)} the lower bound "
            f"(target >= 15x), {auto.refused_share} answered 429 (target <= 1%)"
        )
    print(f"\n2. 100 ms, the API sheds load above {SHED_ABOVE} in flight", end=", ")
    print(f"{args.invoices:,} invoices (auto: median of {args.repeat})")
    print(
        table(
            ["429s", "max_workers", "requests", "429s", "share", "wall s", "speedup"],
            rows,
        )
    )
    return checks


def start_up(repeat: int) -> float:
    """Median wall seconds of ``tap-invoicing --about``: the imports and the settings schema."""
    walls = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run([*TAP, "--about"], check=True, stdout=subprocess.DEVNULL)
        walls.append(time.monotonic() - started)
    return sorted(walls)[len(walls) // 2]


def zero_latency_benchmark(args: argparse.Namespace, workdir: Path) -> list[str]:
    with Sandbox(invoices=args.invoices, seed=args.seed) as sandbox:
        config = sandbox.tap_config()
        baseline = median_run([*BASELINE, "--workers", "8"], sandbox, config, workdir, args.repeat)
        auto = median_run(TAP, sandbox, config, workdir, args.repeat)
        fixed = median_run(TAP, sandbox, {**config, "max_workers": 8}, workdir, args.repeat)
    started = start_up(args.repeat)
    rows = [
        [
            name,
            f"{r.invoices:,}",
            f"{r.requests:,}",
            f"{r.wall:.2f}",
            f"{r.per_second:,.1f}",
            f"{r.per_second / baseline.per_second:.0%}",
            f"{r.cpu / r.requests * 1000:.2f}",
        ]
        for name, r in (
            ("baseline, 8 threads", baseline),
            ("tap, auto (default)", auto),
            ("tap, fixed 8", fixed),
        )
    ]
    print(f"\n3. No added latency, {args.invoices:,} invoices (median of {args.repeat})")
    print(
        table(
            ["client", "invoices", "requests", "wall s", "invoices/s", "of baseline", "CPU ms/req"],
            rows,
        )
    )
    print(f"start-up (tap-invoicing --about, median of {args.repeat}): {started:.2f} s")
    share = auto.per_second / baseline.per_second
    return [f"zero latency: {share:.0%} of the baseline's invoices/s (target >= 50%)"]


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
    print("\n4. Peak memory, default settings")
    print(table(["invoices", "wall s", "peak RSS MB", "vs first"], rows))
    growth = peaks[-1] / peaks[0] - 1
    sizes = f"{args.rss_invoices[0]:,} to {args.rss_invoices[-1]:,} invoices"
    return [f"peak RSS {growth:+.1%} from {sizes} (target within 25%)"]


def main() -> None:
    """Run the benchmarks and print their tables and the targets they check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--latencies-ms", type=float, nargs="+", default=[20.0, 100.0, 300.0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss-invoices", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    # Installed from a wheel, the package comes compiled; an editable checkout run under
    # PYTHONDONTWRITEBYTECODE would compile itself at every start and time that instead.
    compileall.compile_dir(Path(tap_invoicing.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="tap-invoicing-bench-") as tmp:
        workdir = Path(tmp)
        checks = latency_benchmark(args, workdir)
        checks += shedding_benchmark(args, workdir)
        checks += zero_latency_benchmark(args, workdir)
        checks += memory_benchmark(args, workdir)
    print("\nTargets:")
    print("\n".join(f"  {check}" for check in checks))


if __name__ == "__main__":
    main()
