"""Central server: ledger, reconciliation of device journals, enrollment, games and the web console."""
