"""The PayPal Invoicing v2 API emulation."""

from tap_invoicing.sandbox.paypal.auth import Credentials
from tap_invoicing.sandbox.paypal.emulator import PayPalEmulator

__all__ = ["Credentials", "PayPalEmulator"]
