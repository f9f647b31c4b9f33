"""LiveOps' OpenAPI description, read for the conformance tests: the promotion operations,
their examples, and their schemas as JSON Schema (OpenAPI 3.0's `nullable` made a type)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest

_ROOT = Path(__file__).resolve().parents[2]
# The description lives beside the project (shared/reference), not in it.
_CANDIDATES = (
    _ROOT.parent / "shared" / "reference" / "liveops-openapi.json",
    Path("/work/shared/reference/liveops-openapi.json"),
)
PROMOTION_TAGS = ("promotions-", "personalized-catalog", "user-limits-admin")
PREFIX = "/v2/project/{project_id}"


@cache
def spec() -> dict[str, Any]:
    """The parsed description; its tests are skipped without it, except under CI=true."""
    for path in _CANDIDATES:
        if path.is_file():
            return json.loads(path.read_text())  # type: ignore[no-any-return]
    message = "LiveOps' OpenAPI description not found at ../shared/reference"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


def resolve(node: Any) -> Any:
    for _ in range(32):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        found: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            found = found[part]
        node = found
    raise ValueError("a $ref chain longer than 32")


def json_schema(node: Any, depth: int = 0) -> Any:
    """`node` with every $ref inlined and `nullable: true` read as JSON Schema's null type."""
    if depth > 40:
        raise ValueError("schema nested deeper than 40")
    node = resolve(node)
    if isinstance(node, list):
        return [json_schema(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    skip = {"nullable", "example", "examples", "x-enumDescriptions", "description", "default"}
    converted = {k: json_schema(v, depth + 1) for k, v in node.items() if k not in skip}
    if node.get("nullable") is True:
        if "type" in converted:
            types = converted["type"]
            converted["type"] = [*(types if isinstance(types, list) else [types]), "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@attrs.frozen
class Example:
    """One example of an operation's body: its request (`where == "request"`) or an answer."""

    method: str
    path: str
    operation: str
    where: str
    name: str
    value: Any
    schema: Any

    @property
    def label(self) -> str:
        return f"{self.operation}:{self.where}:{self.name}"


def _concerns_promotions(path: str, operation: dict[str, Any]) -> bool:
    tags = operation.get("tags", [])
    return any(t.startswith(PROMOTION_TAGS) for t in tags) and "/limit/item/" not in path


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec()["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and _concerns_promotions(path, operation):
                yield method, path.removeprefix(PREFIX), operation


def _examples_of(content: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in content:
        yield "example", content["example"]
    for name, example in content.get("examples", {}).items():
        yield name, resolve(example).get("value")
    schema = resolve(content.get("schema", {}))
    if "example" in schema:
        yield "schema.example", schema["example"]


def examples() -> list[Example]:
    """Every example of a request body or an answer of the promotion operations."""
    found = []
    for method, path, operation in operations():
        bodies = []
        if "requestBody" in operation:
            bodies.append(("request", resolve(operation["requestBody"])))
        bodies.extend(
            (status, resolve(answer)) for status, answer in operation.get("responses", {}).items()
        )
        for where, body in bodies:
            for content in body.get("content", {}).values():
                for name, value in _examples_of(content):
                    found.append(
                        Example(
                            method,
                            path,
                            operation["operationId"],
                            where,
                            name,
                            value,
                            content.get("schema", {}),
                        )
                    )
    return found


def request_schema(operation_id: str) -> Any:
    """The JSON Schema of an operation's request body."""
    for _, _, operation in operations():
        if operation["operationId"] == operation_id:
            body = resolve(operation["requestBody"])
            return json_schema(body["content"]["application/json"]["schema"])
    raise KeyError(operation_id)
