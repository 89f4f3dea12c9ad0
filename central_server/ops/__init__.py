"""Operations: metrics, structured logs, backups, scheduled jobs (issue 9)."""
