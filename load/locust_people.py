"""Who the Locust users are: the staging simulator's people and behaviour model, at scale.

The load test draws its customers from `simulator.staging.population.make_population`
(seeded faker people with the profile's share of malformed, disposable and duplicate
addresses) and each customer follows its `Journey` from `simulator.staging.behaviour`,
so what staging simulates is what the load test runs. Pure Python: no Locust, no I/O,
so it is imported and tested without gevent.

People come in blocks (one `make_population` call each) with a tag unique to the process
and the block written into every address, so that runs, blocks and distributed workers
never collide on an address, and runs can repeat against the same database.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass

from simulator.staging.actions import signup_status
from simulator.staging.population import EmailKind, Person, make_population
from simulator.staging.profile import Profile

BLOCK = 200


def tagged(email: str, tag: str) -> str:
    """`email` with `tag` before its first "@" (malformed addresses stay malformed)."""
    return email.replace("@", f".{tag}@", 1) if "@" in email else f"{email}.{tag}"


@dataclass
class Candidate:
    """One person to sign up, and the answer the system should give."""

    person: Person
    email: str
    first_of_address: bool = False  # a duplicate whose first signup was not taken

    def body(self) -> dict[str, str]:
        return {**self.person.signup_body(), "email": self.email}

    def expected_status(self) -> int:
        return signup_status(self.person, self.first_of_address)


class PersonSource:
    """Hands out people in population order, block after block.

    A second signup of an address (a DUPLICATE person) is held back until the first one
    has been answered, so that "who was first" is never a race between two Locust users.
    """

    def __init__(self, profile: Profile, seed: int, run: str | None = None) -> None:
        self.profile = profile
        self.seed = seed
        self.run = run or uuid.uuid4().hex[:8]
        self._block = 0
        self._ready: deque[Candidate] = deque()
        self._held: list[Candidate] = []
        self._answered: dict[str, bool] = {}  # address -> whether the system took it
        self._lock = threading.Lock()

    def _fill(self) -> None:
        block = self._block
        self._block += 1
        tag = f"{self.run}b{block}"
        # a block's seed follows from the run seed: the same seed, the same journeys
        people = make_population(self.profile, BLOCK, self.seed * 100_003 + block)
        for person in people:
            self._ready.append(Candidate(person, tagged(person.email, tag)))

    def next(self) -> Candidate:
        with self._lock:
            for i, held in enumerate(self._held):
                taken = self._answered.get(held.email.lower())
                if taken is not None:
                    return self._release(self._held.pop(i), taken)
            while True:
                if not self._ready:
                    self._fill()
                candidate = self._ready.popleft()
                if candidate.person.email_kind is EmailKind.DUPLICATE:
                    taken = self._answered.get(candidate.email.lower())
                    if taken is None:
                        self._held.append(candidate)
                        continue
                    return self._release(candidate, taken)
                return candidate

    def _release(self, duplicate: Candidate, taken: bool) -> Candidate:
        duplicate.first_of_address = not taken
        if not taken:
            # this one may take the address: any other signup of it waits for its answer
            del self._answered[duplicate.email.lower()]
        return duplicate

    def answered(self, candidate: Candidate, status: int) -> None:
        """The signup of `candidate` was answered `status` (0: never sent)."""
        key = candidate.email.lower()
        with self._lock:
            self._answered[key] = self._answered.get(key, False) or status in (201, 409)

    def next_accepted(self) -> Candidate:
        """The next person whose signup the system should take (steady customers)."""
        while True:
            candidate = self.next()
            if candidate.person.signup_accepted:
                return candidate
            self.answered(candidate, 0)  # never sent: its duplicate must not wait for it
