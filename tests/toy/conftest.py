"""The toy provider registered for a test: in the tap's registry (and so its settings schema),
and in the sandbox's, as a fourth provider's package and emulator would be."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tap_invoicing.providers import PROVIDERS
from tap_invoicing.sandbox import Sandbox
from tap_invoicing.sandbox.harness import EMULATORS
from tap_invoicing.settings import config_schema
from tap_invoicing.tap import TapInvoicing
from tests.toy.emulator import ToyEmulator
from tests.toy.provider import TOY


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy in both registries for this test. The tap's settings schema is made from the
    registry when its class is created, so it is made again, as it would be with the toy's line
    in tap_invoicing/providers/__init__.py."""
    monkeypatch.setitem(PROVIDERS, TOY.name, TOY)
    monkeypatch.setitem(EMULATORS, ToyEmulator.name, ToyEmulator)
    schema = config_schema(list(PROVIDERS.values()))
    monkeypatch.setattr(TapInvoicing, "config_jsonschema", schema)


@pytest.fixture
def toy(registered: None) -> Iterator[Sandbox]:
    """A toy sandbox: 30 bills of 2 lines."""
    with Sandbox(provider="toy", invoices=30, seed=5) as sandbox:
        yield sandbox
