"""Email addresses: validation, normalisation and the disposable-domain rule (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import email_validator
from disposable_email_domains import blocklist as _disposable_domains

# Reserved for documentation and testing (RFC 2606): ordinary addresses here, never refused.
EXAMPLE_DOMAINS = frozenset({"example.com", "example.org", "example.net"})


class EmailRejected(ValueError):
    """The address cannot be used to sign up; `reason` says why in words for a person."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Email:
    """A validated address: `address` as the person wrote it (domain normalised), and
    `key`, its case-folded form, under which two signups are the same person."""

    address: str
    key: str

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


def is_disposable(domain: str) -> bool:
    """True when `domain` or any domain above it is on the maintained disposable list."""
    labels = domain.lower().split(".")
    candidates = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    if candidates & EXAMPLE_DOMAINS:
        return False
    return bool(candidates & _disposable_domains)


def normalise(raw: str, *, check_deliverability: bool = False) -> Email:
    """Validate and normalise an address, or raise `EmailRejected`."""
    try:
        validated = email_validator.validate_email(
            raw.strip(),
            check_deliverability=check_deliverability
            and raw.strip().rsplit("@", 1)[-1].lower() not in EXAMPLE_DOMAINS,
        )
    except email_validator.EmailNotValidError as error:
        raise EmailRejected(str(error), "invalid_email") from error
    address = validated.normalized
    email = Email(address=address, key=address.casefold())
    if is_disposable(email.domain):
        raise EmailRejected(
            f"Addresses at {email.domain} are disposable; please use a permanent address.",
            "disposable_email",
        )
    return email
