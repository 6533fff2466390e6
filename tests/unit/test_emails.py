"""Email normalisation and the disposable-domain rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.provisioning.emails import EXAMPLE_DOMAINS, EmailRejected, is_disposable, normalise

local_parts = st.from_regex(
    r"[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,20}[A-Za-z0-9])?", fullmatch=True
).filter(lambda s: ".." not in s)
domains = st.sampled_from(
    ["example.com", "Example.ORG", "EXAMPLE.net", "rsolv.dev", "Sub.Company.IO", "gmail.com"]
)


@given(local_parts, domains)
def test_normalisation_is_idempotent_and_case_folds_the_domain(local: str, domain: str) -> None:
    once = normalise(f"{local}@{domain}")
    twice = normalise(once.address)
    assert once == twice
    assert once.domain == domain.lower()
    assert once.key == once.address.casefold()


@given(local_parts, domains)
def test_addresses_differing_only_in_case_share_a_key(local: str, domain: str) -> None:
    assert normalise(f"{local}@{domain}").key == normalise(f"{local.upper()}@{domain.upper()}").key


@pytest.mark.parametrize("domain", sorted(EXAMPLE_DOMAINS))
def test_example_domains_are_ordinary_addresses(domain: str) -> None:
    assert normalise(f"someone@{domain}").domain == domain
    assert normalise(f"someone@{domain}", check_deliverability=True).domain == domain
    assert not is_disposable(domain)


@pytest.mark.parametrize("address", ["x@mailinator.com", "x@MAILINATOR.com", "x@eu.mailinator.com"])
def test_disposable_domains_and_their_subdomains_are_refused(address: str) -> None:
    with pytest.raises(EmailRejected) as refused:
        normalise(address)
    assert refused.value.code == "disposable_email"


@pytest.mark.parametrize("address", ["plain", "a@", "@b.com", "a b@c.com", "a@b", "a@localhost"])
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(EmailRejected) as refused:
        normalise(address)
    assert refused.value.code == "invalid_email"
