"""Hypothesis strategies for JSON values a JSON Schema describes (the subset LiveOps' OpenAPI
description uses: type, properties, required, items, enum, oneOf/anyOf, bounds, patterns,
date-times). Optional properties come and go; the values otherwise follow the schema, so
the library sees payloads LiveOps' schema calls valid, and near misses."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_DATE_TIMES = st.sampled_from(
    (
        "2026-03-01T00:00:00+00:00",
        "2026-03-01T10:00:00Z",
        "2026-04-15T18:16:00+05:00",
        "2020-01-01T00:00:00-03:00",
    )
)
_MAX_DEPTH = 12


def _regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(
        pattern, fullmatch=pattern.startswith("^"), alphabet=st.characters(codec="ascii")
    )


def _string(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema.get("format") == "date-time":
        return _DATE_TIMES
    low, high = schema.get("minLength", 0), schema.get("maxLength", 20)
    if "pattern" in schema:
        return _regex(schema["pattern"]).filter(lambda s: low <= len(s) <= high)
    return st.text(st.characters(codec="utf-8"), min_size=low, max_size=min(high, 20))


def _of_type(kind: str, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40))
    if kind == "number":
        return st.integers(-(2**31), 2**31) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = schema.get("items", {})
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", low + 3), low + 3)
        return st.lists(values(items, depth + 1), min_size=low, max_size=high)
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))

    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        found = {}
        for name, sub in properties.items():
            if name in required or draw(st.booleans()):
                found[name] = draw(values(sub, depth + 1))
        return found

    if not properties and schema.get("additionalProperties"):
        return st.dictionaries(
            st.sampled_from(("en", "de-DE", "en-US", "english")),
            values(schema["additionalProperties"], depth + 1),
            max_size=3,
        )
    return objects()


def values(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values for `schema` (a JSON Schema without $refs)."""
    if depth > _MAX_DEPTH or not isinstance(schema, dict):
        return st.none()
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([values(s, depth + 1) for s in schema[key]])
    kinds = schema.get("type")
    if kinds is None:
        kinds = "object" if "properties" in schema else "string"
    if isinstance(kinds, list):
        return st.one_of([_of_type(k, schema, depth) for k in kinds])
    return _of_type(kinds, schema, depth)
