"""The private singer-sdk hooks the tap relies on still exist with the parameters it uses."""

from __future__ import annotations

import importlib
import inspect

from singer_sdk import Stream
from singer_sdk.streams import RESTStream

from tap_invoicing.core.sdk_hooks import (
    PRIVATE_ATTRIBUTES,
    PRIVATE_FUNCTIONS,
    PRIVATE_HOOKS,
    PRIVATE_SWITCHES,
)
from tap_invoicing.tap import TapInvoicing
from tests.conftest import run_sync


def test_every_private_hook_exists_with_the_parameters_used() -> None:
    for name, parameters in PRIVATE_HOOKS.items():
        hook = getattr(Stream, name, None)
        assert callable(hook), f"singer-sdk no longer has Stream.{name}"
        assert tuple(inspect.signature(hook).parameters) == parameters, name


def test_every_private_function_exists_with_the_parameters_used() -> None:
    for path, parameters in PRIVATE_FUNCTIONS.items():
        module_name, _, name = path.rpartition(".")
        function = getattr(importlib.import_module(module_name), name, None)
        assert callable(function), f"singer-sdk no longer has {path}"
        assert tuple(inspect.signature(function).parameters) == parameters, path


def test_every_private_attribute_is_set_on_a_stream(config) -> None:
    for stream in TapInvoicing(config=config).streams.values():
        for name in PRIVATE_ATTRIBUTES:
            assert hasattr(stream, name), f"singer-sdk streams no longer have {name}"


def test_a_deselected_property_is_still_left_out(config) -> None:
    catalog = TapInvoicing(config=config).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == ["properties", "customerInformation"]:
                metadata["metadata"]["selected"] = False
    invoices = run_sync(config, catalog=catalog).records("invoices")
    assert invoices
    assert not any("customerInformation" in invoice for invoice in invoices)
    assert all("customerInformation" in invoice for invoice in run_sync(config).records("invoices"))


def test_every_private_switch_exists_with_the_type_used() -> None:
    for name, kind in PRIVATE_SWITCHES.items():
        assert isinstance(getattr(RESTStream, name, None), kind), f"RESTStream.{name}"
