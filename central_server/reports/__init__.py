"""Daily location reports, roll-ups, charts and exports (issue 7)."""
