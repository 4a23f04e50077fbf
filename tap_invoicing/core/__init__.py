"""The shared engine: everything a provider plugs into, knowing no provider."""
