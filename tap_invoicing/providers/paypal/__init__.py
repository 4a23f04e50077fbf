"""PayPal Invoicing v2: ``provider.PROVIDER`` describes the API to the tap."""
