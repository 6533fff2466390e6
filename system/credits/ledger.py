"""Credit ledger rules (pure): a balance is the running sum of entries and never negative."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class InsufficientCredit(Exception):
    """An entry would take the balance below zero."""

    def __init__(self, balance: int, amount: int) -> None:
        super().__init__(f"balance {balance} cannot take {amount}")
        self.balance = balance
        self.amount = amount


@dataclass(frozen=True)
class Entry:
    """One movement of credits: positive grants, negative consumes."""

    amount: int
    kind: str
    reference: str


def apply(balance: int, amount: int) -> int:
    """The balance after `amount`, or InsufficientCredit if it would go negative."""
    after = balance + amount
    if after < 0:
        raise InsufficientCredit(balance, amount)
    return after


def balance_of(entries: Iterable[Entry]) -> int:
    """Replay `entries` from zero; every prefix of a valid ledger is non-negative."""
    balance = 0
    for entry in entries:
        balance = apply(balance, entry.amount)
    return balance
