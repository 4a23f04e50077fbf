"""The Meltano Singer SDK's side of a run, and every private SDK name the tap relies on.

The SDK gives the tap its catalog (streams, schemas, selection, stream maps), its state and its
message writing. The invoices stream's ``sync`` hands the run to the engine
(``core.engine.InvoiceRun``) and writes what the engine gives it: the SDK's own record loop, its
child syncs and its per-record state are not used.

``tests/core/test_sdk.py`` checks every name in ``PRIVATE_NAMES`` still exists with the
parameters used here, and that the SDK methods in ``SDK_METHODS_RELIED_ON`` are unchanged (their
source against a recorded digest), so an SDK upgrade that changes any of them fails a test
instead of silently changing what the tap writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.exceptions import AbortedSyncFailedException
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage
from typing_extensions import override

from tap_invoicing.core.engine import InvoiceRun
from tap_invoicing.core.schemas import load_schema

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_invoicing.core.provider import ChildSpec, Provider
    from tap_invoicing.core.run_settings import RunSettings

PRIVATE_NAMES: dict[str, tuple[str, ...]] = {
    "singer_sdk.helpers._catalog.pop_deselected_record_properties": (
        "record",
        "schema",
        "mask",
        "breadcrumb",
    ),
}
"""The private SDK functions called here, with their parameters."""

SDK_METHODS_RELIED_ON: dict[str, str] = {
    "Stream.sync": "6b4262dcdddf22b403b9a06533e1184256199e09fb1bde3cf5bb063e8ae146c4",
    "Tap.sync_all": "e4412393757b4cdc422ba4982705b0a06dfaf80ce249160aa9ab2a81cd7c00b5",
    "Stream._generate_schema_messages": (
        "6e44b98a350da215bbb774bcc96a70ea400571e5c400f86fa2f77992c266f033"
    ),
    "Stream._generate_record_messages": (
        "9b5f9fbcdedb7a1aec5673a44f51fd9bd88840f19f0fb29cba9953b9d9095bfe"
    ),
}
"""SDK methods whose body this module depends on, with the SHA-256 of their source in the SDK
version tested:

- ``Stream.sync`` (final in the SDK) is replaced by ``InvoicesStream.sync``: the SDK's record
  loop would write children before their invoice, conform every record a second time and move
  the bookmark per record. A new step in it may need a twin here.
- ``Tap.sync_all`` (final) is what calls it, once per parent stream, then finalizes the state.
- ``StreamMessages`` writes messages as the two ``_generate_*_messages`` methods do.
"""


class StreamMessages:
    """One stream's SCHEMA and RECORD messages, written as the SDK writes them (see
    ``SDK_METHODS_RELIED_ON``) through the tap's writer: a SCHEMA per stream map, records with
    deselected properties left out and stream maps applied. Records are not conformed to the
    schema again: the engine conformed each invoice once, on its worker, and child records are
    parts of it, whose nested definitions the child schemas mirror."""

    def __init__(self, stream: Stream, tap: Tap) -> None:
        self.stream = stream
        self._tap = tap
        self.records_written = 0

    @cached_property
    def _selects_everything(self) -> bool:
        """Nothing deselected: the walk for deselected properties (3% of a run's CPU at zero
        latency) is skipped."""
        return all(self.stream.mask.values())

    def write_schema(self) -> None:
        """This stream's SCHEMA message, once per run, before its first record."""
        stream = self.stream
        bookmark_keys = [stream.replication_key] if stream.replication_key else None
        for stream_map in stream.stream_maps:
            if isinstance(stream_map, RemoveRecordTransform):
                continue
            self._tap.write_message(
                SchemaMessage(
                    stream_map.stream_alias,
                    stream_map.transformed_schema,
                    stream_map.transformed_key_properties,
                    bookmark_keys,
                )
            )

    def write_record(self, record: dict[str, Any], extracted: datetime) -> None:
        """One RECORD message per stream map that keeps the record."""
        if not self._selects_everything:
            pop_deselected_record_properties(record, self.stream.schema, self.stream.mask)
        for stream_map in self.stream.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                self._tap.write_message(
                    RecordMessage(
                        stream=stream_map.stream_alias,
                        record=mapped,
                        time_extracted=extracted,
                    )
                )
        self.records_written += 1

    def count_records(self) -> None:
        """Log the records written as the stream's ``record_count`` metric."""
        with self.stream.get_record_counter() as counter:
            counter.increment(self.records_written)


class RunOutput:
    """What the engine writes (``core.engine.InvoiceWriter``), as the selected streams'
    messages. An invoice and its child records share one ``time_extracted``."""

    def __init__(
        self,
        invoices: StreamMessages | None,
        children: list[StreamMessages],
        checkpoint: Callable[[dict[str, Any]], None],
    ) -> None:
        self._invoices = invoices
        self._children = {messages.stream.name: messages for messages in children}
        self.checkpoint = checkpoint
        """Put a checkpoint's bookmark in the state and write the state."""

    @property
    def streams(self) -> list[StreamMessages]:
        """Every selected stream, the invoices first."""
        first = [self._invoices] if self._invoices is not None else []
        return [*first, *self._children.values()]

    def write_invoice(
        self, invoice: dict[str, Any], children: list[tuple[str, list[dict[str, Any]]]]
    ) -> None:
        """The invoice, then each child stream's records."""
        extracted = datetime.now(UTC)
        if self._invoices is not None:
            self._invoices.write_record(invoice, extracted)
        for name, records in children:
            for record in records:
                self._children[name].write_record(record, extracted)


class InvoicesStream(Stream):
    """The invoices, as the SDK sees them; its ``sync`` runs the engine for it and its
    children."""

    def __init__(self, tap: Tap, provider: Provider, settings: RunSettings) -> None:
        self.provider = provider
        self.settings = settings
        self.tap = tap
        super().__init__(tap, schema=load_schema(provider, "invoices"), name="invoices")
        self.primary_keys = (provider.invoice_key,)
        self.replication_key = provider.replication_key

    @override  # type: ignore[misc]  # final in the SDK: see SDK_METHODS_RELIED_ON
    def sync(self, context: Context | None = None) -> None:
        """Run the pass: the SCHEMA messages of the selected streams, their records as the
        engine reads them, then the bookmark and a STATE message, once the list was read whole.
        """
        self.logger.info(
            "Beginning sync of '%s' in %s mode", self.name, self.replication_method.lower()
        )
        children = [child for child in self.child_streams if child.selected]
        output = RunOutput(
            StreamMessages(self, self.tap) if self.selected else None,
            [StreamMessages(child, self.tap) for child in children],
            self.checkpoint,
        )
        for messages in output.streams:
            messages.write_schema()
        selected = sorted(stream.name for stream in [self, *self.child_streams] if stream.selected)
        run = InvoiceRun(
            self.provider,
            self.settings,
            schema=self.schema,
            children=[child.spec for child in children if isinstance(child, InvoiceChildStream)],
            writer=output,
            logger=self.logger,
            record_limit=self.ABORT_AT_RECORD_COUNT,
        )
        with self.get_sync_timer():
            bookmark = run.run(
                self.stream_state, self.settings.bookmark_scope(self.provider, selected)
            )
        for messages in output.streams:
            messages.count_records()
        if bookmark is None:
            msg = f"stopped at the record limit ({self.ABORT_AT_RECORD_COUNT}): nothing committed"
            raise AbortedSyncFailedException(msg)
        self.commit(bookmark)

    def commit(self, bookmark: dict[str, Any]) -> None:
        """Make ``bookmark`` the stream's whole state, and write a STATE message."""
        self.stream_state.clear()
        self.stream_state.update(bookmark)
        self.tap.state_writer.write_state(self.tap_state)

    def checkpoint(self, bookmark: dict[str, Any]) -> None:
        """As ``commit``, for a checkpoint: written straight to the message writer, because the
        SDK's StateWriter keeps a deep copy of every state it writes, which costs more than
        making a checkpoint that names 20,000 open invoices (bench/resume.py)."""
        self.stream_state.clear()
        self.stream_state.update(bookmark)
        self.tap.write_message(StateMessage(value=self.tap_state))

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Never called: ``sync`` has the engine write every record, children included."""
        raise NotImplementedError(self.get_records.__doc__)


class InvoiceChildStream(Stream):
    """Records that hang off one invoice (a ChildSpec), written with their invoice by the
    invoices stream's run: the SDK never syncs them on their own."""

    parent_stream_type = InvoicesStream

    def __init__(self, tap: Tap, provider: Provider, spec: ChildSpec) -> None:
        self.spec = spec
        super().__init__(tap, schema=load_schema(provider, spec.name), name=spec.name)
        self.primary_keys = spec.primary_keys

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Never called: the invoices stream's run writes these records."""
        raise NotImplementedError(self.get_records.__doc__)


def discovered_streams(tap: Tap, provider: Provider, settings: RunSettings) -> list[Stream]:
    """The provider's streams: its invoices and the children it declares."""
    children = [InvoiceChildStream(tap, provider, spec) for spec in provider.children]
    return [InvoicesStream(tap, provider, settings), *children]
