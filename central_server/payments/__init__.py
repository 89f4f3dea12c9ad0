"""Online payments: provider adapters, webhooks, review queue, refunds (issue 8)."""
