"""A toy fourth provider, registered by these tests only: it proves that a provider plugs into
the tap, the sandbox, the tests' secret watch and the Meltano files from its own folders."""
