"""The private singer-sdk hooks the tap relies on still exist with the parameters it uses."""

from __future__ import annotations

import inspect

from singer_sdk import Stream
from singer_sdk.streams import RESTStream

from tap_invoicing.core.sdk_hooks import PRIVATE_HOOKS, PRIVATE_SWITCHES


def test_every_private_hook_exists_with_the_parameters_used() -> None:
    for name, parameters in PRIVATE_HOOKS.items():
        hook = getattr(Stream, name, None)
        assert callable(hook), f"singer-sdk no longer has Stream.{name}"
        assert tuple(inspect.signature(hook).parameters) == parameters, name


def test_every_private_switch_exists_with_the_type_used() -> None:
    for name, kind in PRIVATE_SWITCHES.items():
        assert isinstance(getattr(RESTStream, name, None), kind), f"RESTStream.{name}"
