"""Every private singer-sdk hook the tap relies on, in one place.

``tests/core/test_sdk_hooks.py`` checks that each still exists with the signature used here, so
an SDK upgrade that changes one fails a test instead of silently changing what the tap writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk import Stream

if TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk.helpers.types import Context, Record

PRIVATE_HOOKS: dict[str, tuple[str, ...]] = {
    "_sync_children": ("self", "child_context"),
    "_increment_stream_state": ("self", "latest_record", "context"),
    "_write_schema_message": ("self",),
    "_write_record_message": ("self", "record"),
}
"""The private ``Stream`` methods used or overridden here, with their parameters."""


class ParentStreamHooks(Stream):
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


class ChildStreamHooks(Stream):
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
