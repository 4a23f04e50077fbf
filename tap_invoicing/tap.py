"""tap-invoicing: the Singer tap's settings, its streams, and its command line."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from singer_sdk.singerlib import Message, StateMessage
from typing_extensions import override

from tap_invoicing.core.run_settings import RunSettings
from tap_invoicing.core.sdk import discovered_streams
from tap_invoicing.errors import TapInvoicingError
from tap_invoicing.providers import PROVIDERS
from tap_invoicing.settings import (
    check_settings,
    config_schema,
    environment_errors,
    schema_errors,
    unknown_settings,
)


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: the run stops where it is, committing nothing more.

    A BaseException, so that no ``except Exception`` on the way turns it into a retry.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process a signal ended: 143, 130."""
        return 128 + self.signum


class _Interruption:
    """Turns SIGTERM and SIGINT into Interrupted, but never in the middle of writing a message:
    a write to a full pipe that a signal aborted would leave half a line for the target."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self.writing = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: stop now, or as soon as the message being written is whole."""
        self.pending = signum
        if not self.writing:
            self.raise_if_pending()

    def raise_if_pending(self) -> None:
        """Raise Interrupted once for a signal that arrived."""
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise Interrupted(signum)


_interruption = _Interruption()


class WholeMessageWriter(MsgSpecWriter):
    """msgspec encodes a message about ten times faster than the SDK's default writer (measured
    with bench/throughput.py), and writes a Decimal with its own digits: ``12.050`` stays so.
    Each message is written whole, whatever signal arrives meanwhile."""

    @override
    def serialize_message(self, message: Message) -> bytearray:
        """A STATE message's value as it is: the SDK's ``to_dict`` deep-copies it first, which
        took two thirds of a checkpoint's time at 100,000 invoices (bench/resume.py)."""
        if isinstance(message, StateMessage):
            return serialize_jsonl({"type": "STATE", "value": message.value})
        return super().serialize_message(message)

    @override
    def write_message(self, message: Message) -> None:
        """Write one message, then honour a signal that arrived while it was written."""
        _interruption.writing = True
        try:
            super().write_message(message)
        finally:
            _interruption.writing = False
        _interruption.raise_if_pending()


class TapInvoicing(Tap):
    """Invoices, line items and history from the configured provider's invoicing API."""

    name = "tap-invoicing"
    package_name = "tap-invoicing"
    config_jsonschema = config_schema(list(PROVIDERS.values()))
    message_writer_class = WholeMessageWriter
    capabilities: ClassVar = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    """The SDK's defaults less ``batch`` (the children are written with each invoice, which a
    batch file of invoices cannot carry) and ``activate-version`` (every stream is incremental,
    and ACTIVATE_VERSION is only sent for full-table ones)."""

    def __init__(self, *, validate_config: bool = True, **kwargs: Any) -> None:
        """Settings are checked by ``discover_streams``, where the SDK first needs them, not by
        the SDK: its messages quote the values, secrets included. SIGTERM and SIGINT end the run
        non-zero, where the SDK's handler would exit 0 and have the run recorded as a success."""
        self._validate_settings = validate_config
        super().__init__(validate_config=False, **kwargs)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _interruption.handle)

    def _check_settings(self) -> None:
        """One line per bad setting, naming it, before any request: the JSON schema without
        echoing values, then what a schema cannot say (credentials per provider, URLs, dates).
        Unknown settings are warned about."""
        config = dict(self.config)
        errors = schema_errors(config, self.config_jsonschema) or check_settings(config, PROVIDERS)
        if errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        for warning in unknown_settings(config, self.config_jsonschema):
            self.logger.warning("%s", warning)

    @override
    def discover_streams(self) -> list[Stream]:
        """The configured provider's streams: its invoices and the children it declares."""
        if self._validate_settings:
            self._check_settings()
        if self.config.get("provider") is None:
            raise ConfigValidationError(
                "Config validation failed", errors=["provider: is required to discover streams"]
            )
        provider = PROVIDERS[self.config["provider"]]
        return discovered_streams(self, provider, RunSettings.parse(self.config, provider))


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
        elif option == "--state" and (problem := _state_shape_error(content)):
            errors.append(f"{option} {path}: {problem}")
    return errors


def _state_shape_error(state: dict[str, Any]) -> str | None:
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return "its bookmarks must be an object of stream bookmarks"
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            return f"the bookmark of stream {stream} must be an object"
    return None


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
    errors = input_file_errors(sys.argv[1:])
    if "ENV" in sys.argv[1:]:
        prefix = TapInvoicing.name.upper().replace("-", "_") + "_"  # as the SDK names them
        errors += environment_errors(TapInvoicing.config_jsonschema, os.environ, prefix)
    if errors:
        for error in errors:
            TapInvoicing.logger.error("%s", error)
        sys.exit(1)
    try:
        command()
    except TapInvoicingError as error:
        TapInvoicing.logger.error("%s", error)
        TapInvoicing.logger.debug("Traceback of the error above", exc_info=True)
        sys.exit(1)
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name
        TapInvoicing.logger.error(
            "Interrupted by %s: stopped; the state written claims nothing this run did not emit",
            name,
        )
        sys.stdout.flush()
        sys.exit(stop.exit_status)


if __name__ == "__main__":
    main()
