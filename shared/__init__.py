"""cafesuite domain core: money, ids, canonical JSON, journal entries, ledger rules,
device signing and game math.

Pure on purpose: nothing in this package imports Qt, an HTTP client or SQL, so every
rule can be tested (and reused by every app) without a screen, a network or a database.
"""

__version__ = "0.1.0"
