"""Every private singer-sdk hook the tap relies on, in one place.

``tests/core/test_sdk_hooks.py`` checks that each still exists with the signature used here, so
an SDK upgrade that changes one fails a test instead of silently changing what the tap writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import utc_now
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream

if TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk.helpers.types import Context, Record

PRIVATE_HOOKS: dict[str, tuple[str, ...]] = {
    "_sync_children": ("self", "child_context"),
    "_increment_stream_state": ("self", "latest_record", "context"),
    "_write_schema_message": ("self",),
    "_write_record_message": ("self", "record"),
    "_generate_record_messages": ("self", "record"),
}
"""The private ``Stream`` methods used or overridden here, with their parameters."""
PRIVATE_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "singer_sdk.helpers._catalog.pop_deselected_record_properties": (
        "record",
        "schema",
        "mask",
        "breadcrumb",
    ),
    "singer_sdk.helpers._util.utc_now": (),
}
"""The private SDK functions called here, with their parameters."""
PRIVATE_ATTRIBUTES = ("_stream_version",)
"""The private ``Stream`` attributes read here."""

PRIVATE_SWITCHES: dict[str, type] = {"_LOG_REQUEST_METRICS": bool}
"""The private ``RESTStream`` class constants overridden here, with their type."""


class RecordMessageHooks(Stream):
    """Records written as the SDK writes them, with two walks less per record: none for
    deselected properties when nothing is deselected (3% of a run's CPU at zero latency, py-spy
    on bench/throughput.py's data set), and no type conformance, since ``conform_to_schema``
    conformed each invoice on its worker thread (the child records are parts of it, whose
    nested definitions the child schemas mirror)."""

    @cached_property
    def _selects_everything(self) -> bool:
        return all(self.mask.values())

    def _generate_record_messages(self, record: Record) -> Iterator[RecordMessage]:
        if not self._selects_everything:
            pop_deselected_record_properties(record, self.schema, self.mask)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )


class ParentStreamHooks(RecordMessageHooks):
    """The invoices stream writes its children itself (so it sends no BATCH messages) and keeps
    its bookmark still mid-run."""

    def write_children(self, child_context: Context | None) -> None:
        """Write the children's records of one parent record."""
        raise NotImplementedError

    def _sync_children(self, child_context: Context | None) -> None:
        """The SDK would sync each child per record, with its own SCHEMA, logs and state."""
        self.write_children(child_context)

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """No per-record bookmark: the APIs have no per-invoice change time to advance on.

        The plan's bookmark is committed by ``get_records`` once the list has been read whole;
        keeping the state still until then also spares one STATE message per invoice.
        """

    def get_batch_config(self, config: Mapping) -> None:
        """No BATCH messages, whatever ``batch_config`` says: the children are written with each
        invoice, which a batch file of invoices cannot carry (the tap does not declare ``batch``,
        and warns that the setting is ignored)."""


class ChildStreamHooks(RecordMessageHooks):
    """A child stream whose records its parent writes, with no sync of its own."""

    records_written = 0

    def write_schema(self) -> None:
        """Write this stream's SCHEMA message (once per run, before its first record)."""
        self._write_schema_message()

    def write_record(self, record: dict[str, Any]) -> None:
        """Write one RECORD message, as a sync of this stream would."""
        self._write_record_message(record)
        self.records_written += 1

    def count_records(self) -> None:
        """Log the records written as this stream's record count metric."""
        with self.get_record_counter() as counter:
            counter.increment(self.records_written)


class RequestMetricsHooks(RESTStream):
    """The SDK logs a ``METRIC http_request_duration`` line for every request: a flood on stderr
    that cost a sixth of a zero-latency run's CPU (bench/logging_cost.py). Only on request."""

    @cached_property
    def _LOG_REQUEST_METRICS(self) -> bool:  # noqa: N802  (the SDK's name)
        """The ``log_request_metrics`` setting (default off)."""
        return bool(self.config.get("log_request_metrics", False))
