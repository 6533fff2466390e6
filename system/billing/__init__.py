"""Billing: the credit ledger, plans, charging (pure rules apart from their storage)."""
