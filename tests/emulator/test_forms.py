"""The form decoder exactly inverts the official SDK's encoder."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from simulator.stripe_emulator.forms import decode


def sdk_encode(params: dict[str, Any]) -> str:
    """Exactly what ``stripe._api_requestor`` puts on the wire."""
    encoded = urlencode(list(_api_encode(params)))
    return encoded.replace("%5B", "[").replace("%5D", "]")


def wire(value: Any) -> Any:
    """What a value looks like after an encode/decode round trip (all strings)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return _wire_list(value, list_branch=True)
    return str(value)


def _wire_list(items: list[Any], list_branch: bool) -> list[Any]:
    """SDK quirk reproduced on purpose: a bool that ``_api_encode``'s list branch
    yields directly is sent as ``True``/``False`` (``str(bool)``). A list nested in a
    list is re-encoded as an index-keyed dict, whose scalars are lowercased again.
    """
    out: list[Any] = []
    for v in items:
        if isinstance(v, bool):
            out.append(str(v) if list_branch else str(v).lower())
        elif isinstance(v, list):
            out.append(_wire_list(v, list_branch=not list_branch))
        else:
            out.append(wire(v))
    return out


keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
scalars = st.one_of(st.text(max_size=20), st.integers(), st.booleans())
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(keys, children, min_size=1, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, trees, max_size=6))
def test_decode_inverts_sdk_encoder(params: dict[str, Any]) -> None:
    assert decode(sdk_encode(params)) == wire(params)


def test_examples() -> None:
    body = (
        "metadata[k]=v&metadata[gone]=&description=&items[0][price]=p1"
        "&items[0][quantity]=2&items[1][price]=p2&expand[0]=a&expand[1]=b.c"
    )
    assert decode(body) == {
        "metadata": {"k": "v", "gone": ""},
        "description": "",
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "expand": ["a", "b.c"],
    }


def test_empty_brackets_append() -> None:
    assert decode("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}
    assert decode(b"lookup_keys[]=x") == {"lookup_keys": ["x"]}


def test_percent_encoded_brackets_and_plus() -> None:
    assert decode("metadata%5Bk%5D=a+b%26c") == {"metadata": {"k": "a b&c"}}


def test_empty_body() -> None:
    assert decode(b"") == {}
    assert decode("") == {}


def test_non_contiguous_indices_stay_a_dict() -> None:
    assert decode("a[1]=x&a[2]=y") == {"a": {"1": "x", "2": "y"}}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6))
def test_split_pairs_matches_parse_qsl(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import parse_qsl

    from simulator.stripe_emulator.forms import split_pairs

    body = urlencode(pairs)
    assert split_pairs(body) == parse_qsl(body, keep_blank_values=True)
