"""The population: who signs up (seeded faker), each with a journey from the behaviour model.

Signup addresses are as real signup forms see them: most are fine, some are malformed,
some disposable, and some are a second signup of an address already used (written in a
different case), which arrives no earlier than the first.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from enum import StrEnum

from faker import Faker

from simulator.staging.behaviour import Journey
from simulator.staging.profile import Profile


class EmailKind(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    DISPOSABLE = "disposable"
    DUPLICATE = "duplicate"


DISPOSABLE_DOMAINS = ("mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com")


@dataclass
class Person:
    index: int
    name: str
    company: str
    github_org: str
    email: str
    email_kind: EmailKind
    journey: Journey

    @property
    def signup_accepted(self) -> bool:
        """Whether the system should take this signup (the independent expectation)."""
        return self.email_kind is EmailKind.OK

    def signup_body(self) -> dict[str, str]:
        return {
            "email": self.email,
            "name": self.name,
            "company": self.company,
            "github_org": self.github_org,
        }


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:30] or "org"


def make_population(profile: Profile, count: int, seed: int) -> list[Person]:
    """`count` people for `profile`, the same for the same seed."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(f"population:{seed}")
    people: list[Person] = []
    for index in range(count):
        journey = Journey(profile, seed, index)
        first, last = fake.first_name(), fake.last_name()
        company = fake.company()
        org = f"{_slug(company)}-{index}"
        domain = f"{_slug(company)}.example.com"
        email = f"{first}.{last}.{index}@{domain}".lower()
        roll = rng.random()
        kind = EmailKind.OK
        if roll < profile.invalid_email_rate:
            kind = EmailKind.INVALID
            email = rng.choice(
                [f"{first}.{last}.at.{domain}", f"{first}@@{domain}", f"{first} {last}@{domain}"]
            ).lower()
        elif roll < profile.invalid_email_rate + profile.disposable_email_rate:
            kind = EmailKind.DISPOSABLE
            email = f"{first}{index}@{rng.choice(DISPOSABLE_DOMAINS)}".lower()
        elif (
            roll
            < profile.invalid_email_rate
            + profile.disposable_email_rate
            + profile.duplicate_email_rate
        ):
            earlier = [p for p in people if p.email_kind is EmailKind.OK]
            if earlier:
                original = rng.choice(earlier)
                kind = EmailKind.DUPLICATE
                email = original.email.upper()
                # a second signup never comes before the first
                journey.arrival_week = max(journey.arrival_week, original.journey.arrival_week)
        people.append(Person(index, f"{first} {last}", company, org, email, kind, journey))
    return people
