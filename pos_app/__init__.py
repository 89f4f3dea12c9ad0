"""The cashier POS: shifts, players, selling and paying out credits, receipts, offline trading."""

from shared import __version__

__all__ = ["__version__"]
