"""Game catalog, signed content-addressed packages and finite pools (issue 6)."""
