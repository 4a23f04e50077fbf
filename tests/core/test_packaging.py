"""A plain ``pip install .`` works: the wheel carries the schemas and runs without the checkout;
it carries the license the project declares; the changelog covers the version."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""The sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the standard text (the one Debian
ships as /usr/share/common-licenses/Apache-2.0)."""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip`` builds from the checkout."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("tap_invoicing-*.whl"))


def test_the_wheel_carries_the_schemas_and_discovers_from_them(wheel, tmp_path):
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


def test_the_license_is_the_apache_license_2_0_verbatim():
    text = (ROOT / "LICENSE").read_bytes()
    assert PROJECT["license"] == "Apache-2.0"
    assert text.split()[:4] == [b"Apache", b"License", b"Version", b"2.0,"]
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256


def test_the_wheel_carries_the_license_and_declares_it(wheel):
    with zipfile.ZipFile(wheel) as archive:
        dist_info = f"tap_invoicing-{PROJECT['version']}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode().splitlines()
        carried = archive.read(f"{dist_info}/licenses/LICENSE")
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    assert carried == (ROOT / "LICENSE").read_bytes()


def test_the_changelog_has_an_unreleased_section_and_a_dated_one_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[(.+?)\](?: - (\d{4}-\d{2}-\d{2}))?$", changelog, re.MULTILINE)
    assert sections[0] == ("Unreleased", "")
    assert dict(sections)[PROJECT["version"]]
