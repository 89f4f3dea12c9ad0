"""The configuration document devices pull: limits, staff PIN hashes, presets, revocations (issue 4)."""
