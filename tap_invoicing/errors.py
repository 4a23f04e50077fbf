"""Failures the tap expects and reports as one line, without a traceback."""

from __future__ import annotations


class TapInvoicingError(Exception):
    """An expected failure: the message alone tells the user what to fix."""


class RequestRefusedError(TapInvoicingError):
    """The API refused one request (a 4xx other than 404, 408 and 429): retrying cannot help.

    On an invoice's detail it is that invoice's problem; on the list it ends the run.
    """

    def __init__(self, message: str, *, status: int, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer or message
        """The API's answer in a few words (status, request, body excerpt), credentials masked."""


class AuthenticationFailedError(RequestRefusedError):
    """The API refused our credentials: retrying cannot help, so the run stops at once."""


class StateError(TapInvoicingError):
    """The state passed with --state cannot be used by this version of the tap."""


class RetriesExhaustedError(TapInvoicingError):
    """A request kept failing with transient errors until its tries ran out."""


class RedirectRefusedError(TapInvoicingError):
    """The API answered with a redirect: following it would send our credentials to another
    host, so the run stops instead."""


class HostUnreachableError(TapInvoicingError):
    """The run's first request found no server at the configured host: a wrong ``base_url`` or
    environment, which retrying cannot fix."""
