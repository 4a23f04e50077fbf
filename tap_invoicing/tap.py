"""tap-invoicing: the Singer tap's settings, its streams, and its command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
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
    message_writer_class = MsgSpecWriter
    """msgspec encodes a message about ten times faster than the SDK's default writer (measured
    with bench/throughput.py), and writes a Decimal with its own digits: ``12.050`` stays so."""

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


INPUT_FILES = {"--config": "settings", "--state": "state", "--catalog": "catalog"}


def input_file_errors(argv: list[str]) -> list[str]:
    """Unreadable or malformed --config/--state/--catalog files, one line each, checked before
    the SDK reads them (it would answer with a traceback)."""
    errors = []
    for option, path in _file_arguments(argv):
        try:
            content = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            errors.append(f"{option} {path}: cannot be read ({error.strerror or error})")
            continue
        except ValueError as error:
            errors.append(f"{option} {path}: is not valid JSON ({error})")
            continue
        if not isinstance(content, dict):
            errors.append(f"{option} {path}: must hold a JSON object of {INPUT_FILES[option]}")
        elif option == "--catalog" and not isinstance(content.get("streams"), list):
            errors.append(f"{option} {path}: must hold a Singer catalog with a streams list")
    return errors


def _file_arguments(argv: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for position, argument in enumerate(argv):
        option, equals, value = argument.partition("=")
        if option not in INPUT_FILES:
            continue
        path = value if equals else (argv[position + 1] if position + 1 < len(argv) else "")
        if path and path != "ENV":
            pairs.append((option, path))
    return pairs


def main() -> None:
    """Console entry point: an expected failure ends the run with one line and exit status 1;
    its traceback is logged at DEBUG level only."""
    command = TapInvoicing.cli  # building the command also sets up the SDK's console logging
    if errors := input_file_errors(sys.argv[1:]):
        for error in errors:
            TapInvoicing.logger.error("%s", error)
        sys.exit(1)
    try:
        command()
    except TapInvoicingError as error:
        TapInvoicing.logger.error("%s", error)
        TapInvoicing.logger.debug("Traceback of the error above", exc_info=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
