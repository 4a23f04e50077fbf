"""The CyberSource Invoicing v2 emulation."""

from tap_invoicing.sandbox.cybersource.emulator import CyberSourceEmulator
from tap_invoicing.sandbox.cybersource.signature import Credentials

__all__ = ["Credentials", "CyberSourceEmulator"]
