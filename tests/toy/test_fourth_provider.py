"""A fourth provider touches only its own folders: registered (tests/toy/conftest.py), the toy
is in the tap's settings with its start_date clause, extracts for real from its emulator, is
watched by the secret watch, offers its sandbox option and is written into the Meltano files."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tap_invoicing.sandbox import Sandbox, cli
from tap_invoicing.tap import TapInvoicing
from tests.conftest import run_sync, secrets_in
from tests.toy.emulator import Credentials, ToyEmulator

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_have_the_toys_own_and_its_start_date_clause(registered: None) -> None:
    properties = TapInvoicing.config_jsonschema["properties"]
    assert "toy" in properties["provider"]["enum"]
    assert properties["toy_api_key"]["writeOnly"] is True
    description = properties["start_date"]["description"]
    assert "; toy: its last update (updated), compared by the tap. An invoice" in description
    assert "by one date per provider: cybersource: " in description


def test_a_run_extracts_the_bills_their_lines_and_a_state_then_only_what_may_change(
    toy: Sandbox,
) -> None:
    first = run_sync(toy.tap_config())
    assert sorted(first.ids()) == sorted(toy.invoice_ids())  # emitted as fetched
    lines = first.records("invoice_lines")
    assert len(lines) == 2 * len(toy.invoice_ids())
    assert {line["invoiceId"] for line in lines} == set(toy.invoice_ids())
    bookmark = first.state["bookmarks"]["invoices"]
    assert bookmark["replication_key"] == "updated"
    assert bookmark["replication_key_value"]

    open_bills = [i for i in toy.invoice_ids() if toy.invoice(i)["status"] == "OPEN"]
    assert isinstance(toy.api, ToyEmulator)
    toy.api.pay(open_bills[-1])
    second = run_sync(toy.tap_config(), state=first.state)
    assert set(open_bills) <= set(second.ids()) < set(first.ids())
    assert second.records("invoices")[second.ids().index(open_bills[-1])]["status"] == "PAID"


def test_start_date_leaves_out_bills_last_updated_before_it(toy: Sandbox) -> None:
    newest = toy.invoice(toy.invoice_ids()[0])["updated"]
    assert run_sync({**toy.tap_config(), "start_date": newest}).ids() == toy.invoice_ids()[:1]


def test_the_secret_watch_knows_the_toys_keys(registered: None) -> None:
    for seed in (0, 5, 99):
        key = Credentials.for_seed(seed).toy_api_key
        assert secrets_in(f"refused {key}!") == {key}


def test_the_sandbox_command_offers_the_toys_option_to_the_toy_only(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = cli._parser()
    assert "toy only: line items per bill (default 2)" in " ".join(parser.format_help().split())
    arguments = parser.parse_args(["--provider", "toy", "--lines-per-bill", "3"])
    assert cli._emulator_options(parser, arguments) == {"lines_per_bill": 3}
    with Sandbox(provider="toy", invoices=1, seed=1, lines_per_bill=3) as sandbox:
        assert len(sandbox.invoice(sandbox.invoice_ids()[0])["lines"]) == 3
    for argv, error in (
        (["--provider", "cybersource", "--lines-per-bill", "3"], "toy options: --lines-per-bill"),
        (["--provider", "toy", "--lines-per-bill", "-1"], "--lines-per-bill must be >= 0"),
        (["--provider", "toy", "--max-page", "2"], "toy takes no --max-page"),
    ):
        with pytest.raises(SystemExit):
            cli.main(argv)
        assert error in capsys.readouterr().err


@pytest.fixture
def generator() -> ModuleType:
    """scripts/meltano_settings.py, imported."""
    spec = importlib.util.spec_from_file_location(
        "meltano_settings", ROOT / "scripts/meltano_settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_meltano_files_get_the_toy_from_the_generator(
    registered: None, generator: ModuleType
) -> None:
    assert generator.stale_files() == ["meltano.yml", "meltano-plugin.yml"]
    files = {path.name: yaml.safe_load(text) for path, text in generator.expected_files().items()}
    project, plugin = files["meltano.yml"], files["meltano-plugin.yml"]
    assert generator.extractor(project, "tap-invoicing--toy") == {
        "name": "tap-invoicing--toy",
        "inherit_from": "tap-invoicing",
        "config": {"provider": "toy"},
    }
    assert plugin["label"] == "Invoicing (CyberSource, Revolv3, PayPal, Toy)"
    assert "toy" in plugin["keywords"]
    assert ["provider", "toy_api_key"] in plugin["settings_group_validation"]
    [key] = [setting for setting in plugin["settings"] if setting["name"] == "toy_api_key"]
    assert key["sensitive"] is True
    assert {"label": "Toy", "value": "toy"} in plugin["settings"][0]["options"]
