"""Credits: the ledger's rules (pure) and their storage.

Provisioning (the trial grant), billing (fixes, card bonus, period grants), the Marketplace
(purchase grants) and admin (adjustments) all move credits through this package; it imports
none of them.
"""
