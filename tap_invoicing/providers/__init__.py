"""The supported invoicing APIs, keyed by the ``provider`` setting.

Each provider is a package of this one whose ``provider`` module builds its ``PROVIDER``; adding
one is adding its package and its line here.
"""

from __future__ import annotations

from tap_invoicing.core.provider import Provider
from tap_invoicing.providers.cybersource.provider import PROVIDER as CYBERSOURCE
from tap_invoicing.providers.paypal.provider import PROVIDER as PAYPAL
from tap_invoicing.providers.revolv3.provider import PROVIDER as REVOLV3

PROVIDERS: dict[str, Provider] = {
    provider.name: provider for provider in (CYBERSOURCE, REVOLV3, PAYPAL)
}
