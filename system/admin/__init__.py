"""Staff administration under /admin: customers and their ledgers, manual credit
adjustments with an audit log, suspension and restore. Signed in with its own credential."""
