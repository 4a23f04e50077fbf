"""The settings schema users see (``tap-invoicing --about``, and Meltano's settings made from it):
every setting titled and described, secrets marked, and defaults that change nothing.

The SDK fills each schema ``default`` into the config the tap reads, so a declared default must be
what the tap does anyway when the setting is unset, and must suit every provider.
"""

from __future__ import annotations

import json

import pytest

from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.providers import PROVIDERS
from tap_invoicing.providers.revolv3.api import Revolv3Api
from tap_invoicing.sandbox.harness import EMULATORS
from tap_invoicing.settings import check_settings, config_schema
from tap_invoicing.tap import TapInvoicing
from tests.conftest import run_cli

OWN_SETTINGS = config_schema(list(PROVIDERS.values()))["properties"]
"""The tap's settings, without the SDK's standard ones."""


def minimal_config(provider_name: str) -> dict:
    """The provider and its credentials, nothing else: every other setting is left unset."""
    provider = PROVIDERS[provider_name]
    credentials = EMULATORS[provider_name](invoices=0, seed=1).config()
    return {
        "provider": provider_name,
        **{name: credentials[name] for name in provider.credential_settings},
    }


@pytest.fixture(scope="module")
def about() -> dict:
    result = run_cli("--about", "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)["settings"]["properties"]


def test_every_setting_has_a_title_and_a_description(about):
    for name in OWN_SETTINGS:
        assert about[name].get("title"), name
        assert len(about[name].get("description", "")) > 30, name


def test_the_credentials_and_nothing_else_are_marked_secret(about):
    credentials = {name for p in PROVIDERS.values() for name in p.credential_settings}
    assert {name for name, schema in about.items() if schema.get("writeOnly")} == credentials
    assert all(about[name].get("secret") is True for name in credentials)


def test_settings_whose_default_differs_per_provider_declare_none_and_describe_each(about):
    for name in ("environment", "page_size", "max_requests_per_second"):
        assert "default" not in about[name], name
        assert all(f"{provider}" in about[name]["description"] for provider in PROVIDERS), name


@pytest.mark.parametrize("provider_name", PROVIDERS)
def test_the_defaults_the_sdk_fills_in_pass_every_check_and_change_nothing(provider_name):
    provider = PROVIDERS[provider_name]
    tap = TapInvoicing(config=minimal_config(provider_name))
    filled = dict(tap.config)
    declared = {name: s["default"] for name, s in OWN_SETTINGS.items() if "default" in s}
    assert {name: filled[name] for name in declared} == declared
    assert check_settings(filled, PROVIDERS) == []
    settings = RunSettings.parse(filled, provider)
    assert settings.api_root == provider.environments[provider.default_environment]
    assert settings.page_size == provider.default_page_size
    assert settings.max_requests_per_second == provider.default_max_requests_per_second


def revolv3_settings(config: dict) -> RunSettings:
    return RunSettings.parse(config, PROVIDERS["revolv3"])


@pytest.mark.parametrize(
    ("setting", "effect"),
    [
        ("request_timeout", lambda config: revolv3_settings(config).request_timeout),
        ("max_list_pages", lambda config: revolv3_settings(config).max_list_pages),
        (
            "include_raw_processor_response",
            lambda config: Revolv3Api(revolv3_settings(config)).list_params(),
        ),
    ],
)
def test_a_declared_default_is_what_the_tap_does_with_the_setting_null(setting, effect):
    """A null setting passes the schema and is not replaced by the SDK: the code's own
    fallback then applies, and it must agree with the schema's default."""
    declared = OWN_SETTINGS[setting]["default"]
    assert effect({setting: None}) == effect({setting: declared})
