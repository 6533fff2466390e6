"""In-memory state: one :class:`Account` per secret key, one :class:`Collection` per type.

A collection keeps ``id -> object`` plus an insertion sequence number per id
in a ``SortedList``; secondary indexes (``field -> value -> SortedList[seq]``)
serve the common list filters. Listing (newest first, cursors, ``has_more``)
therefore costs O(log n + limit), independent of how many objects are stored.
Changes are recorded in ``Account.dirty`` so persistence can write through
only what a request touched.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sortedcontainers import SortedList

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

# Secondary indexes per collection, contributed by resource modules.
INDEXES: dict[str, tuple[str, ...]] = {}


def register_indexes(collection: str, fields: Iterable[str]) -> None:
    INDEXES[collection] = tuple(dict.fromkeys((*INDEXES.get(collection, ()), *fields)))


def _index_key(value: Any) -> Any:
    return value if not isinstance(value, (dict, list)) else None


class Collection:
    """Objects of one type within one account."""

    def __init__(self, name: str, account: Account) -> None:
        self.name = name
        self.account = account
        self.objects: dict[str, Obj] = {}
        self.seq_of: dict[str, int] = {}  # kept after delete so cursors keep working
        self.id_of: dict[int, str] = {}
        self.order: SortedList = SortedList()
        self.index_fields = INDEXES.get(name, ())
        self.indexes: dict[str, dict[Any, SortedList]] = {f: {} for f in self.index_fields}

    def __len__(self) -> int:
        return len(self.objects)

    def __contains__(self, obj_id: object) -> bool:
        return obj_id in self.objects

    def get(self, obj_id: str) -> Obj | None:
        return self.objects.get(obj_id)

    def _unindex(self, obj: Obj, seq: int) -> None:
        for f in self.index_fields:
            v = _index_key(obj.get(f))
            if v is None:
                continue
            bucket = self.indexes[f].get(v)
            if bucket is not None:
                bucket.discard(seq)
                if not bucket:
                    del self.indexes[f][v]

    def _index(self, obj: Obj, seq: int) -> None:
        for f in self.index_fields:
            v = _index_key(obj.get(f))
            if v is None:
                continue
            bucket = self.indexes[f].get(v)
            if bucket is None:
                bucket = self.indexes[f][v] = SortedList()
            bucket.add(seq)

    def put(self, obj: Obj, *, seq: int | None = None) -> Obj:
        """Insert or replace ``obj`` (keyed by ``obj['id']``) and mark it dirty."""
        obj_id = obj["id"]
        old = self.objects.get(obj_id)
        if old is not None:
            s = self.seq_of[obj_id]
            if self.index_fields:
                self._unindex(old, s)
        else:
            s = seq if seq is not None else self.account.next_seq()
            if seq is not None:
                self.account.bump_seq(seq)
            self.seq_of[obj_id] = s
            self.id_of[s] = obj_id
            self.order.add(s)
        self.objects[obj_id] = obj
        if self.index_fields:
            self._index(obj, s)
        self.account.dirty.add((self.name, obj_id))
        return obj

    def reindex(self, obj_id: str, old: Obj) -> None:
        """Call after mutating a stored object in place (``old`` = values before)."""
        s = self.seq_of[obj_id]
        if self.index_fields:
            self._unindex(old, s)
            self._index(self.objects[obj_id], s)
        self.account.dirty.add((self.name, obj_id))

    def touch(self, obj_id: str) -> None:
        """Mark an in-place mutation (no indexed field changed) for persistence."""
        self.account.dirty.add((self.name, obj_id))

    def delete(self, obj_id: str) -> Obj | None:
        obj = self.objects.pop(obj_id, None)
        if obj is None:
            return None
        s = self.seq_of[obj_id]
        self.order.discard(s)
        if self.index_fields:
            self._unindex(obj, s)
        self.account.dirty.add((self.name, obj_id))
        return obj

    def lookup(self, field: str, value: Any) -> list[Obj]:
        """All objects whose indexed ``field`` equals ``value`` (oldest first)."""
        bucket = self.indexes[field].get(value)
        if not bucket:
            return []
        return [self.objects[self.id_of[s]] for s in bucket]

    def has_any(self, field: str, value: Any) -> bool:
        return bool(self.indexes[field].get(value))

    def _sources(self, eq: dict[str, Any] | None) -> tuple[list[SortedList], Predicate | None]:
        """Pick the seq lists to scan (one indexed filter) and a residual predicate."""
        if not eq:
            return [self.order], None
        if "id" in eq:  # a list of ids: look them up directly
            ids = eq["id"] if isinstance(eq["id"], (list, tuple, set, frozenset)) else [eq["id"]]
            rest_eq = {f: v for f, v in eq.items() if f != "id"}
            sources, residual = self._sources(rest_eq) if rest_eq else ([], None)
            picked = SortedList(self.seq_of[i] for i in set(ids) if i in self.objects)
            if rest_eq and sources != [self.order]:
                allowed = set().union(*sources)
                picked = SortedList(s for s in picked if s in allowed)
            return [picked], residual
        chosen: str | None = None
        best = -1
        for f, v in eq.items():
            if f not in self.indexes:
                continue
            values = v if isinstance(v, (list, tuple, set, frozenset)) else [v]
            size = sum(len(self.indexes[f].get(x) or ()) for x in values)
            if chosen is None or size < best:
                chosen, best = f, size
        rest = {f: v for f, v in eq.items() if f != chosen}
        pred: Predicate | None = None
        if rest:
            items = [
                (f, frozenset(v) if isinstance(v, (list, tuple, set, frozenset)) else None, v)
                for f, v in rest.items()
            ]

            def pred(o: Obj) -> bool:
                for f, many, v in items:
                    ov = o.get(f)
                    if many is not None:
                        if ov not in many:
                            return False
                    elif ov != v:
                        return False
                return True

        if chosen is None:
            return [self.order], pred
        v = eq[chosen]
        values = v if isinstance(v, (list, tuple, set, frozenset)) else [v]
        lists = [
            self.indexes[chosen][x] for x in dict.fromkeys(values) if x in self.indexes[chosen]
        ]
        return lists, pred

    def page(
        self,
        *,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        eq: dict[str, Any] | None = None,
        where: Predicate | None = None,
    ) -> tuple[list[Obj], bool]:
        """Newest-first page of objects after/before a cursor. Returns (objects, has_more).

        ``eq`` maps field -> value (or a list of accepted values); an indexed
        field is used to drive the scan. ``where`` is an extra predicate.
        Cursors must be ids known to this collection (callers check first).
        """
        sources, pred = self._sources(eq)
        preds = [p for p in (pred, where) if p is not None]
        if ending_before is not None:
            lo = self.seq_of[ending_before]
            iters: list[Iterator[int]] = [
                iter(s.irange(minimum=lo, inclusive=(False, True))) for s in sources
            ]
            merged: Iterator[int] = iters[0] if len(iters) == 1 else heapq.merge(*iters)
            out = self._collect(merged, limit, preds)
            has_more = len(out) > limit
            out = out[:limit]
            out.reverse()
            return out, has_more
        if starting_after is not None:
            hi = self.seq_of[starting_after]
            iters = [
                iter(s.irange(maximum=hi, inclusive=(True, False), reverse=True)) for s in sources
            ]
        else:
            iters = [reversed(s) for s in sources]
        merged = iters[0] if len(iters) == 1 else heapq.merge(*iters, reverse=True)
        out = self._collect(merged, limit, preds)
        has_more = len(out) > limit
        return out[:limit], has_more

    def _collect(self, seqs: Iterator[int], limit: int, preds: list[Predicate]) -> list[Obj]:
        out: list[Obj] = []
        id_of = self.id_of
        objects = self.objects
        for s in seqs:
            obj = objects.get(id_of[s])
            if obj is None:
                continue
            if preds and not all(p(obj) for p in preds):
                continue
            out.append(obj)
            if len(out) > limit:
                break
        return out


class IdempotencyRecord:
    __slots__ = ("created", "method", "params", "path", "request_id", "response", "status")

    def __init__(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        status: int,
        response: bytes,
        request_id: str,
        created: int,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.status = status
        self.response = response
        self.request_id = request_id
        self.created = created

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "params": self.params,
            "status": self.status,
            "response": self.response.decode(),
            "request_id": self.request_id,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> IdempotencyRecord:
        return cls(
            d["method"],
            d["path"],
            d["params"],
            d["status"],
            d["response"].encode(),
            d["request_id"],
            d["created"],
        )


IDEMPOTENCY_TTL = 24 * 3600  # Stripe keeps idempotency keys for 24 hours
TOMBSTONES = "_tombstone"
IDEMPOTENCY = "_idempotency"


class Account:
    """Everything one API key can see. Keys never see each other's objects."""

    def __init__(self, key: str, account_id: str) -> None:
        self.key = key
        self.id = account_id
        self.collections: dict[str, Collection] = {}
        # id -> {"id", "object", "deleted": True} for resources Stripe still
        # answers on retrieve after deletion (e.g. customers)
        self.tombstones: dict[str, Obj] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.dirty: set[tuple[str, str]] = set()
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def bump_seq(self, seq: int) -> None:
        if seq > self._seq:
            self._seq = seq

    def coll(self, name: str) -> Collection:
        c = self.collections.get(name)
        if c is None:
            c = self.collections[name] = Collection(name, self)
        return c

    def add_tombstone(self, stub: Obj) -> None:
        self.tombstones[stub["id"]] = stub
        self.dirty.add((TOMBSTONES, stub["id"]))

    def remember(self, key: str, record: IdempotencyRecord) -> None:
        """Store an idempotent result; expired ones are dropped from the front, O(1) amortized."""
        idem = self.idempotency
        idem.pop(key, None)  # re-insert at the end: the dict stays ordered by creation
        idem[key] = record
        self.dirty.add((IDEMPOTENCY, key))
        for _ in range(2):
            oldest = next(iter(idem))
            if record.created - idem[oldest].created < IDEMPOTENCY_TTL:
                break
            del idem[oldest]
            self.dirty.add((IDEMPOTENCY, oldest))
