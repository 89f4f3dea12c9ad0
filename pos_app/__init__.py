"""Cashier point of sale (PySide6)."""
