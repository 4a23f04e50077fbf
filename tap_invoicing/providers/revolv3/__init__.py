"""Revolv3 invoices: ``provider.PROVIDER`` describes the API to the tap."""
