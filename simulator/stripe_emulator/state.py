"""The emulator's whole state: clock, seeded ids, accounts, faults, events, persistence."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from . import resources as _resources  # noqa: F401  (registers indexes first)
from .clock import Clock, SystemClock
from .faults import Faults
from .ids import IdGenerator
from .persistence import Persistence
from .shapes import jcopy
from .store import Account

log = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"

EventListener = Callable[[Account, dict[str, Any]], None]

MIN_KEY_SUFFIX = 4
KEY_PREFIXES = ("sk_test_", "rk_test_")


class EmulatorState:
    """Live state of one emulator. Handlers run synchronously against it."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        persist_path: str | None = None,
        api_version: str = API_VERSION,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.ids = IdGenerator(self.rng)
        self.api_version = api_version
        self.faults = Faults()
        self.accounts: dict[str, Account] = {}
        self._listeners: list[EventListener] = []
        self._lock = threading.Lock()
        self.persistence: Persistence | None = None
        if persist_path:
            self.persistence = Persistence(persist_path)
            self.accounts = self.persistence.load(Account)

    # -- accounts ----------------------------------------------------------
    @staticmethod
    def key_is_valid(key: str) -> bool:
        return key.startswith(KEY_PREFIXES) and len(key) >= len(KEY_PREFIXES[0]) + MIN_KEY_SUFFIX

    def account_for_key(self, key: str) -> Account:
        """The account of a (valid) API key; created on first use."""
        account = self.accounts.get(key)
        if account is None:
            with self._lock:
                account = self.accounts.get(key)
                if account is None:
                    account = Account(key, self.ids.new("acct"))
                    self.accounts[key] = account
                    if self.persistence is not None:
                        self.persistence.save_account(account)
        return account

    def flush(self, account: Account) -> None:
        if self.persistence is not None:
            self.persistence.flush(account)
        else:
            account.dirty.clear()

    def reset(self) -> None:
        """Forget every account and object (and the persisted copy); clear faults."""
        with self._lock:
            self.accounts = {}
            self.faults.clear()
            if self.persistence is not None:
                self.persistence.wipe()

    def close(self) -> None:
        if self.persistence is not None:
            self.persistence.close()

    # -- time --------------------------------------------------------------
    def now(self) -> int:
        return self.clock.now()

    def now_for(self, customer_id: str | None = None, account: Account | None = None) -> int:
        """ "Now" for a customer: its test clock's ``frozen_time``, else the emulator clock."""
        if customer_id and account is not None:
            cus = account.coll("customer").get(customer_id)
            clock_id = cus.get("test_clock") if cus else None
            if clock_id:
                clock = account.coll("test_helpers.test_clock").get(clock_id)
                if clock is not None:
                    return int(clock["frozen_time"])
        return self.clock.now()

    # -- events ------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener(account, event)`` for every new event. Returns an unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self, account: Account, event: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(account, event)
            except Exception:
                log.exception("event listener failed for %s", event.get("id"))

    def record_event(
        self,
        account: Account,
        type: str,
        obj: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        api_version: str | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """Store an event whose ``data.object`` is a snapshot of ``obj``."""
        data: dict[str, Any] = {"object": jcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = jcopy(previous_attributes)
        event = {
            "id": self.ids.new("evt"),
            "object": "event",
            "api_version": api_version or self.api_version,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": type,
        }
        account.coll("event").put(event)
        if notify:
            self.notify(account, event)
        return event
