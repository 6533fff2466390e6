"""API keys: a key verifies against its own hash and no other."""

from __future__ import annotations

import string
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from system.provisioning import api_keys


@settings(max_examples=50)
@given(st.sampled_from(["test", "live"]))
def test_a_key_verifies_against_its_hash_and_no_other(environment: str) -> None:
    key, other = api_keys.issue(environment), api_keys.issue(environment)
    assert api_keys.verify(key.plaintext, key.key_hash)
    assert not api_keys.verify(other.plaintext, key.key_hash)
    assert not api_keys.verify(key.plaintext, other.key_hash)
    assert key.plaintext.startswith(f"rsolv_{environment}_")
    assert api_keys.prefix_of(key.plaintext) == key.prefix
    assert key.prefix != other.prefix


@given(st.text(max_size=80))
def test_any_string_either_has_a_prefix_or_none(text: str) -> None:
    prefix = api_keys.prefix_of(text)
    assert prefix is None or text.startswith(prefix + "_")


@given(st.text(min_size=1, max_size=80))
def test_a_tampered_key_does_not_verify(suffix: str) -> None:
    key = api_keys.issue()
    assert not api_keys.verify(key.plaintext + suffix, key.key_hash)


def test_the_stored_hash_does_not_contain_the_secret() -> None:
    key = api_keys.issue()
    secret = key.plaintext.rsplit("_", 1)[1]
    assert secret.encode() not in key.key_hash
    assert len(secret) == api_keys.SECRET_LENGTH


def test_secrets_use_the_whole_alphabet_and_nothing_else() -> None:
    """Each character is drawn from all 62 symbols: 43 of them carry over 256 bits."""
    seen = Counter("".join(api_keys.issue().plaintext.rsplit("_", 1)[1] for _ in range(500)))
    assert set(seen) == set(string.ascii_letters + string.digits)
    # uniform: each symbol about 500 * 43 / 62 = 347 times; a biased mapping is far off
    assert min(seen.values()) > 250 and max(seen.values()) < 450
