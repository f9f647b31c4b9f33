"""The command line's indented JSON writer writes exactly what json.dumps(indent=2) writes."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops_rules.cli.indented import dumps_indented


class _Level(enum.IntEnum):
    HIGH = 3


class _Kind(enum.StrEnum):
    COUPON = "coupon"


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included: json writes NaN, Infinity, -Infinity
    st.text(),  # control characters, quotes, backslashes, surrogates, astral planes
    st.sampled_from([_Level.HIGH, _Kind.COUPON, True, 0, -0.0, 1e300, ""]),
)
_keys = st.one_of(st.text(max_size=5), st.integers(), st.none(), st.booleans(), st.floats())
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_keys, inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(document=_documents)
def test_indented_text_is_what_json_dumps_writes(document: object) -> None:
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("depth", [1, 99, 100, 101, 150, 400])
def test_deep_documents_are_written_alike(depth: int) -> None:
    document: object = "leaf"
    for level in range(depth):
        document = [document] if level % 2 else {"k": document}
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_what_json_cannot_write_is_refused_as_json_refuses_it() -> None:
    for document in ({"a": {1, 2}}, [object()], {(1, 2): "tuple key"}):
        with pytest.raises(TypeError):
            json.dumps(document, indent=2)
        with pytest.raises(TypeError):
            dumps_indented(document)
    looped: list[object] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(looped)
