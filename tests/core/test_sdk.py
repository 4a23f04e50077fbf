"""The SDK behind the adapter (tap_invoicing/core/sdk.py): every private name it uses still
exists as used, the SDK methods it mirrors are unchanged, and it writes what the SDK would."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from decimal import Decimal

import singer_sdk
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import StateMessage

from tap_invoicing.core.sdk import PRIVATE_NAMES, SDK_METHODS_RELIED_ON
from tap_invoicing.tap import TapInvoicing, WholeMessageWriter
from tests.conftest import run_sync


def test_every_private_name_exists_with_the_parameters_used() -> None:
    for path, parameters in PRIVATE_NAMES.items():
        module_name, _, name = path.rpartition(".")
        function = getattr(importlib.import_module(module_name), name, None)
        assert callable(function), f"singer-sdk no longer has {path}"
        assert tuple(inspect.signature(function).parameters) == parameters, path


def test_every_sdk_method_the_adapter_relies_on_is_unchanged() -> None:
    for qualified_name, digest in SDK_METHODS_RELIED_ON.items():
        class_name, _, name = qualified_name.partition(".")
        method = getattr(getattr(singer_sdk, class_name), name, None)
        assert callable(method), f"singer-sdk no longer has {qualified_name}"
        source = inspect.getsource(method).encode()
        assert hashlib.sha256(source).hexdigest() == digest, (
            f"{qualified_name} changed in this singer-sdk: check what tap_invoicing/core/sdk.py "
            "says it relies on, then record the new digest"
        )


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


def test_an_invoice_is_written_first_then_its_children_with_its_time_extracted(config) -> None:
    messages = [m for m in run_sync(config).messages if m["type"] == "RECORD"]
    streams = [m["stream"] for m in messages]
    assert streams[0] == "invoices"
    for position, message in enumerate(messages):
        if message["stream"] == "invoices":
            continue
        invoice = next(m for m in reversed(messages[:position]) if m["stream"] == "invoices")
        assert message["record"]["invoiceId"] == invoice["record"]["id"]
        assert message["time_extracted"] == invoice["time_extracted"]
    line_items = [i for i, s in enumerate(streams) if s == "invoice_line_items"]
    history = [i for i, s in enumerate(streams) if s == "invoice_history"]
    assert line_items and history
    first_invoice_children = streams[1 : streams.index("invoices", 1)]
    assert first_invoice_children == sorted(
        first_invoice_children, key=["invoice_line_items", "invoice_history"].index
    )


def test_a_state_message_is_written_as_the_sdk_writes_it() -> None:
    """WholeMessageWriter writes a STATE's value without the SDK's deep copy, to the same line."""
    value = {"bookmarks": {"invoices": {"resume": {"ahead": ["a", "b"]}, "n": Decimal("12.050")}}}
    message = StateMessage(value=value)
    assert WholeMessageWriter().serialize_message(message) == MsgSpecWriter().serialize_message(
        message
    )
