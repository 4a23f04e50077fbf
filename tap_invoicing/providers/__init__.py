"""The registry of supported invoicing APIs, keyed by the ``provider`` setting.

Each provider is a package of this one whose ``provider`` module exposes ``PROVIDER``; it is
imported on first use, because provider modules themselves build on the shared stream machinery.
"""

from __future__ import annotations

import importlib
from functools import cache

from tap_invoicing.providers.base import Provider

PROVIDER_NAMES = ("cybersource",)


@cache
def get_provider(name: str) -> Provider:
    """The provider for a ``provider`` setting value."""
    if name not in PROVIDER_NAMES:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}.provider").PROVIDER
