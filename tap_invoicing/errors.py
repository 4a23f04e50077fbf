"""Failures the tap expects and reports as one line, without a traceback."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class TapInvoicingError(Exception):
    """An expected failure: the message alone tells the user what to fix."""


class AuthenticationFailedError(TapInvoicingError, FatalAPIError):
    """The API refused our credentials: retrying cannot help, so the run stops at once."""


class StateError(TapInvoicingError):
    """The state passed with --state cannot be used by this version of the tap."""


class RetriesExhaustedError(TapInvoicingError):
    """A request kept failing with transient errors until its tries ran out."""
