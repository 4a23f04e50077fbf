"""CyberSource (Visa Acceptance) Invoicing API v2: ``provider.PROVIDER`` describes it to the tap.

This package module stays empty so that its request signing (``auth``) can be imported without
the stream machinery, as the benchmark's baseline client does.
"""
