"""tap-invoicing: the Singer tap's settings, its streams, and its command line."""

from __future__ import annotations

import sys
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.streams import RESTStream

from tap_invoicing.errors import TapInvoicingError
from tap_invoicing.providers import get_provider
from tap_invoicing.settings import check_settings, config_schema


class TapInvoicing(Tap):
    """Invoices, line items and history from the configured provider's invoicing API."""

    name = "tap-invoicing"
    package_name = "tap-invoicing"
    config_jsonschema = config_schema()

    def __init__(self, *, validate_config: bool = True, **kwargs: Any) -> None:
        """Check what the JSON schema cannot (credentials per provider, URLs, dates) up front,
        so a bad setting fails before any request with one line naming it."""
        super().__init__(validate_config=validate_config, **kwargs)
        if validate_config and (errors := check_settings(self.config)):
            raise ConfigValidationError("Config validation failed", errors=errors)

    def discover_streams(self) -> list[Stream]:
        """The streams of the configured provider."""
        if self.config.get("provider") is None:
            raise ConfigValidationError(
                "Config validation failed", errors=["provider: is required to discover streams"]
            )
        provider = get_provider(self.config["provider"])
        return [stream_type(tap=self) for stream_type in provider.stream_types]

    def sync_all(self) -> None:
        """Sync, then close the streams' HTTP connections, which the SDK leaves open."""
        try:
            super().sync_all()
        finally:
            for stream in self.streams.values():
                if isinstance(stream, RESTStream):
                    stream.requests_session.close()


def main() -> None:
    """Console entry point: an expected failure ends the run with one line and exit status 1."""
    try:
        TapInvoicing.cli()
    except TapInvoicingError as error:
        TapInvoicing.logger.error("%s", error)
        sys.exit(1)


if __name__ == "__main__":
    main()
