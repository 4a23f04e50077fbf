"""What the tap's stderr costs at zero latency: the SDK's METRIC line per request, or not.

The real ``tap-invoicing`` command runs against the bundled sandbox (no added latency, so the
tap's own CPU is what limits it) with its output going to /dev/null and its stderr to a file, as
under Meltano or Airflow. It runs in turns with ``log_request_metrics`` on (what every run did
before: one ``METRIC http_request_duration`` line per request) and with the default (off). The
CPU seconds (user + system, start-up included) come from the kernel's accounting of the
process. Each figure is the lowest of ``--repeat`` runs, given per 1,000 invoices: on a shared
machine a run only ever costs more than its own work (other processes take the caches and
cores), so the lowest is the best estimate of that work, as ``timeit`` reasons.

    .venv/bin/python bench/logging_cost.py            # or: make bench
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tap_invoicing
from tap_invoicing.sandbox import Sandbox

TAP = str(Path(sys.executable).parent / "tap-invoicing")
MODES = {"METRIC lines on (before)": {"log_request_metrics": True}, "default (now)": {}}
"""Each mode's settings, added to the sandbox's."""


@dataclass
class Run:
    """One run of the tap: its CPU and wall seconds and the lines it wrote on stderr."""

    cpu: float
    wall: float
    stderr_lines: int


def cpu_of_children() -> float:
    """User + system seconds of the child processes waited for so far (not the sandbox's
    threads, which run in this process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(config: dict[str, Any], workdir: Path) -> Run:
    """Run the tap to completion; its CPU seconds as the kernel counted them."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    log_path = workdir / "stderr.log"
    cpu_before, started = cpu_of_children(), time.monotonic()
    with Path(os.devnull).open("wb") as sink, log_path.open("wb") as log:
        status = subprocess.run(
            [TAP, "--config", str(config_path)], stdout=sink, stderr=log, check=False
        ).returncode
    wall, cpu = time.monotonic() - started, cpu_of_children() - cpu_before
    if status != 0:
        sys.exit(f"tap-invoicing failed; its log is in {log_path}")
    return Run(cpu, wall, len(log_path.read_bytes().splitlines()))


def main() -> None:
    """Run both modes in turns and print the cost of each per 1,000 invoices."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    # As bench/throughput.py: time the tap, not the compiling of an editable checkout.
    compileall.compile_dir(Path(tap_invoicing.__file__).parent, quiet=1)
    runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
    with (
        tempfile.TemporaryDirectory(prefix="tap-invoicing-bench-") as tmp,
        Sandbox(invoices=args.invoices, seed=args.seed) as sandbox,
    ):
        for _ in range(args.repeat):  # in turns, so that a busy moment weighs on both modes
            for mode, settings in MODES.items():
                runs[mode].append(run({**sandbox.tap_config(), **settings}, Path(tmp)))

    def per_1000(measure: str) -> dict[str, float]:
        return {
            mode: min(getattr(r, measure) for r in rs) * 1000 / args.invoices
            for mode, rs in runs.items()
        }

    cpu, wall, lines = per_1000("cpu"), per_1000("wall"), per_1000("stderr_lines")
    print(f"\nstderr at zero latency, {args.invoices:,} invoices (lowest of {args.repeat}):")
    print(f"{'per 1,000 invoices':>26}  {'CPU s':>6}  {'wall s':>6}  {'stderr lines':>12}")
    for mode in MODES:
        print(f"{mode:>26}  {cpu[mode]:6.2f}  {wall[mode]:6.2f}  {lines[mode]:12,.0f}")
    before, now = MODES
    saved = cpu[before] - cpu[now]
    print(
        f"\nSaved per 1,000 invoices: {saved:.2f} CPU s ({saved / cpu[before]:.0%} of the CPU) "
        f"and {lines[before] - lines[now]:,.0f} stderr lines."
    )


if __name__ == "__main__":
    main()
