"""Player kiosk (PySide6)."""
