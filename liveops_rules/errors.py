"""The library's exceptions: one base class, and errors that carry data a caller can act on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from decimal import Decimal

import attrs

__all__ = [
    "ChainConfigError",
    "LiveOpsError",
    "NaiveDatetimeError",
    "OutcomeUnknownError",
    "Problem",
    "StoreError",
    "TransactionConflictError",
    "ValidationError",
]


class LiveOpsError(Exception):
    """Base class of every error this library raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong with an input: where it is, what was expected there and what was found."""

    path: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, found {self.found}"


def describe(value: object) -> str:
    """A short, bounded rendering of a found value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if isinstance(value, date | time | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


class ValidationError(LiveOpsError, ValueError):
    """An input (model arguments or a payload) is invalid; `problems` lists every fault found."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("a ValidationError needs at least one problem")
        super().__init__(self._render())

    @classmethod
    def single(cls, path: str, expected: str, found: object) -> ValidationError:
        """One problem, with `found` given as the offending value."""
        return cls([Problem(path, expected, describe(found))])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same problems with `prefix` put before each path (for nested models)."""
        return ValidationError(
            attrs.evolve(p, path=join_path(prefix, p.path)) for p in self.problems
        )

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


def join_path(prefix: str, path: str) -> str:
    """Join a JSON-path-like prefix and a relative path (`$.a` + `b[0]` → `$.a.b[0]`)."""
    if not path or path == "$":
        return prefix
    if path.startswith("$"):
        path = path[1:]
    if path.startswith(("[", ".")):
        return prefix + path
    return f"{prefix}.{path}"


class NaiveDatetimeError(ValidationError):
    """A datetime without a time zone was given where the library needs an aware one."""

    def __init__(self, what: str) -> None:
        super().__init__([Problem(what, "an aware datetime (with tzinfo)", "a naive datetime")])


class StoreError(LiveOpsError):
    """A store cannot be reached or used (a file that cannot be opened, a server that is down);
    the message names it. Nothing was counted by the operation that raised it, unless it is an
    `OutcomeUnknownError`."""


class OutcomeUnknownError(StoreError):
    """A network store lost contact after the operation was sent: it may or may not have been
    applied. Retry it with the same idempotency key: the store then counts it at most once and
    returns the first result."""


class TransactionConflictError(StoreError):
    """The caller's own database transaction (a store on the caller's connection) deadlocked
    or failed to serialize against another: nothing more can be done inside it. Roll the
    transaction back and run it again."""


class ChainConfigError(ValidationError):
    """A daily or offer chain's configuration breaks one of LiveOps' chain rules: `error_code`
    is LiveOps' code for it (6203 too many steps, 6204 a bad period, 6205 an id mismatch,
    6206/6207 step ids unknown/duplicated, 6301 too many items, 6302 step numbers not 1..N),
    `extended` the `errorMessageExtended` object LiveOps answers with."""

    def __init__(
        self, error_code: int, problems: Iterable[Problem], extended: dict[str, object]
    ) -> None:
        super().__init__(problems)
        self.error_code = error_code
        self.extended = extended

    @classmethod
    def of(
        cls, error_code: int, path: str, expected: str, found: object, extended: dict[str, object]
    ) -> ChainConfigError:
        """One problem, LiveOps' code and its extended payload."""
        return cls(error_code, [Problem(path, expected, describe(found))], extended)

    def prefixed(self, prefix: str) -> ChainConfigError:
        """The same problems, code and payload, with `prefix` put before each path."""
        return ChainConfigError(
            self.error_code,
            (attrs.evolve(p, path=join_path(prefix, p.path)) for p in self.problems),
            self.extended,
        )
