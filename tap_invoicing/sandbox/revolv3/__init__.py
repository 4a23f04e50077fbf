"""The Revolv3 invoices API emulation."""

from tap_invoicing.sandbox.revolv3.auth import Credentials
from tap_invoicing.sandbox.revolv3.emulator import Revolv3Emulator

__all__ = ["Credentials", "Revolv3Emulator"]
