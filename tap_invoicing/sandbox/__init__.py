"""A local HTTP sandbox of the invoicing APIs the tap reads, for tests, benchmarks and CI."""

from tap_invoicing.sandbox.emulator import ActionNotAllowedError
from tap_invoicing.sandbox.faults import Fault
from tap_invoicing.sandbox.harness import Sandbox
from tap_invoicing.sandbox.ratelimit import RateLimit
from tap_invoicing.sandbox.requestlog import IncomingRequest, RequestRecord

__all__ = [
    "ActionNotAllowedError",
    "Fault",
    "IncomingRequest",
    "RateLimit",
    "RequestRecord",
    "Sandbox",
]
