"""The private singer-sdk hooks the tap relies on still exist with the parameters it uses."""

from __future__ import annotations

import inspect

from singer_sdk import Stream

from tap_invoicing.core.sdk_hooks import PRIVATE_HOOKS


def test_every_private_hook_exists_with_the_parameters_used() -> None:
    for name, parameters in PRIVATE_HOOKS.items():
        hook = getattr(Stream, name, None)
        assert callable(hook), f"singer-sdk no longer has Stream.{name}"
        assert tuple(inspect.signature(hook).parameters) == parameters, name
