"""The head-office / distributor / owner web console (issue 7)."""
