"""Optional SQLite persistence: write-through of the rows a request changed, load on start.

One row per object (``account key, kind, id``) with its insertion ``seq`` and
JSON body. ``kind`` is a collection name, ``_tombstone`` or ``_idempotency``.
Only rows in ``Account.dirty`` are written after a request, never the whole store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import TYPE_CHECKING

from .store import IDEMPOTENCY, TOMBSTONES, Account, IdempotencyRecord

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (key TEXT PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    account TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (account, kind, id)
);
"""


class Persistence:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def save_account(self, account: Account) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO accounts(key, id) VALUES (?, ?)", (account.key, account.id)
            )

    def flush(self, account: Account) -> None:
        """Write the account's dirty rows in one transaction and clear the dirty set."""
        if not account.dirty:
            return
        dirty, account.dirty = account.dirty, set()
        upserts: list[tuple[str, str, str, int, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for kind, obj_id in dirty:
            if kind == TOMBSTONES:  # tombstones are never removed
                upserts.append(
                    (account.key, kind, obj_id, 0, json.dumps(account.tombstones[obj_id]))
                )
            elif kind == IDEMPOTENCY:
                rec = account.idempotency.get(obj_id)
                if rec is None:
                    deletes.append((account.key, kind, obj_id))
                else:
                    upserts.append((account.key, kind, obj_id, 0, json.dumps(rec.to_json())))
            else:
                coll = account.coll(kind)
                obj = coll.get(obj_id)
                if obj is None:
                    deletes.append((account.key, kind, obj_id))
                else:
                    upserts.append(
                        (account.key, kind, obj_id, coll.seq_of[obj_id], json.dumps(obj))
                    )
        with self._lock:
            self.db.execute("BEGIN")
            try:
                if upserts:
                    self.db.executemany(
                        "INSERT OR REPLACE INTO objects(account, kind, id, seq, data) "
                        "VALUES (?, ?, ?, ?, ?)",
                        upserts,
                    )
                if deletes:
                    self.db.executemany(
                        "DELETE FROM objects WHERE account=? AND kind=? AND id=?", deletes
                    )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                account.dirty |= dirty  # written by the next flush, not lost
                raise

    def load(self, make_account: Callable[[str, str], Account]) -> dict[str, Account]:
        accounts: dict[str, Account] = {}
        with self._lock:
            for key, acct_id in self.db.execute("SELECT key, id FROM accounts"):
                accounts[key] = make_account(key, acct_id)
            rows = self.db.execute("SELECT account, kind, id, seq, data FROM objects ORDER BY seq")
            for key, kind, obj_id, seq, data in rows:
                account = accounts[key]  # rows are only written for saved accounts
                value = json.loads(data)
                if kind == TOMBSTONES:
                    account.tombstones[obj_id] = value
                elif kind == IDEMPOTENCY:
                    account.idempotency[obj_id] = IdempotencyRecord.from_json(value)
                else:
                    account.coll(kind).put(value, seq=seq)
        for account in accounts.values():
            account.dirty.clear()
        return accounts

    def wipe(self) -> None:
        with self._lock:
            self.db.execute("DELETE FROM objects")
            self.db.execute("DELETE FROM accounts")
