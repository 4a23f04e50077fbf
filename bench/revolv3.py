"""Revolv3 at its documented rate limit: wall time against the ideal, 429s, requests per invoice.

The sandbox enforces the documented limits (20 requests per any sliding second, 20,000 per 15
minutes) and answers each request after ``--latency-ms``. The real ``tap-invoicing`` command
runs with default settings (output to /dev/null), once per list shape:

- summary list items: one list page per 100 invoices plus one detail each; the ideal is
  requests / 20 per second, since the rate limit and not the latency is what bounds the run;
- full list items (the invoice with its attempts and line items): list pages only; the target
  is at most 0.011 requests per invoice.

    .venv/bin/python bench/revolv3.py            # or: make bench
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

from tap_invoicing.sandbox import Sandbox

TAP = str(Path(sys.executable).parent / "tap-invoicing")
DOCUMENTED_RATE = 20.0


def run(shape: str, invoices: int, latency_ms: float) -> dict[str, Any]:
    """One default run against a fresh sandbox with this list shape."""
    with (
        Sandbox(
            provider="revolv3", invoices=invoices, latency=latency_ms / 1000, list_shape=shape
        ) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = sandbox.write_config(Path(tmp) / "config.json")
        started = time.monotonic()
        subprocess.run(
            [TAP, "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        wall = time.monotonic() - started
        served = sandbox.requests
    requests = len(served)
    return {
        "shape": shape,
        "invoices": invoices,
        "requests": requests,
        "wall": wall,
        "ideal": requests / DOCUMENTED_RATE,
        "throttled": sum(1 for record in served if record.status == 429),
        "per_invoice": requests / invoices,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    rows = [run(shape, args.invoices, args.latency_ms) for shape in ("summary", "full")]
    print(
        f"Revolv3, {args.invoices:,} invoices, {args.latency_ms:g} ms latency, default settings "
        f"(paced 10% under the documented {DOCUMENTED_RATE:g} requests/s)"
    )
    print(
        f"{'list shape':<11}{'requests':>9}{'wall s':>9}{'ideal s':>9}{'vs ideal':>9}"
        f"{'429s':>6}{'req/invoice':>13}"
    )
    for row in rows:
        print(
            f"{row['shape']:<11}{row['requests']:>9}{row['wall']:>9.1f}{row['ideal']:>9.1f}"
            f"{row['wall'] / row['ideal']:>8.2f}x{row['throttled']:>6}{row['per_invoice']:>13.4f}"
        )
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
