"""Device side of sync: the encrypted journal (the outbox), keys in the OS keyring, and the push client."""
