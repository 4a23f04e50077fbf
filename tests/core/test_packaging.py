"""A plain ``pip install .`` works: the wheel carries the schemas and runs without the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_schemas_and_discovers_from_them(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("tap_invoicing-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").rglob("*.json"):
        assert f"tap_invoicing/schemas/{schema.relative_to(ROOT / 'schemas')}" in names

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import tap_invoicing
        from tap_invoicing.tap import TapInvoicing
        config = {"provider": "cybersource", "merchant_id": "m", "merchant_key_id": "k",
                  "merchant_secret_key": "c2VjcmV0"}
        tap = TapInvoicing(config=config)
        print(json.dumps({
            "file": tap_invoicing.__file__,
            "streams": [entry["tap_stream_id"] for entry in tap.catalog_dict["streams"]],
            "fields": len(tap.streams["invoices"].schema["properties"]),
        }))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["file"].startswith(str(target))
    assert sorted(found["streams"]) == ["invoice_history", "invoice_line_items", "invoices"]
    assert found["fields"] > 10
