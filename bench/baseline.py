"""The least a client can do to extract the same invoices: the benchmark's yardstick.

It makes the tap's HTTP calls (every list page, then every invoice's detail) with requests,
parses each detail with json and prints it, on ``--workers`` threads. No schema, no state, no
retries, no Singer messages: whatever the tap spends beyond this is the price of those.

    python bench/baseline.py --config sandbox-config.json --workers 8 > /dev/null
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tap_invoicing.providers.cybersource.auth import HttpSignatureAuth

LIST_PATH = "/invoicing/v2/invoices"


def main() -> None:
    """Fetch the list and every detail; print the details as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a tap config file (sandbox's)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    root = config["base_url"].rstrip("/")
    session = requests.Session()
    session.auth = HttpSignatureAuth(
        merchant_id=config["merchant_id"],
        key_id=config["merchant_key_id"],
        secret_b64=config["merchant_secret_key"],
    )
    session.mount("http://", HTTPAdapter(pool_maxsize=args.workers + 1))

    ids: list[str] = []
    offset = 0
    while True:
        response = session.get(
            f"{root}{LIST_PATH}", params={"offset": offset, "limit": args.page_size}
        )
        if response.status_code == 404:
            break
        page = response.json()
        ids += [invoice["id"] for invoice in page["invoices"]]
        offset += len(page["invoices"])
        if not page["invoices"] or offset >= page.get("totalInvoices", offset):
            break

    def detail(invoice_id: str) -> str:
        return session.get(f"{root}{LIST_PATH}/{invoice_id}").text

    with ThreadPoolExecutor(args.workers) as pool:
        for body in pool.map(detail, ids):
            print(json.dumps(json.loads(body)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
