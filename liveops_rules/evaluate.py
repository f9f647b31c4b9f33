"""Decisions for one promotion, one user, one moment: eligible or not, and every reason why."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timezone
from typing import Any

from liveops_rules.errors import NaiveDatetimeError, ValidationError
from liveops_rules.models.conditions import (
    MISMATCH,
    MISSING,
    NUMBER,
    PASS,
    Condition,
    aligned,
    check_status,
    read_date,
    read_number,
)
from liveops_rules.models.promotions import PersonalizedCatalogRule, Promotion
from liveops_rules.models.user import User
from liveops_rules.models.values import Operator
from liveops_rules.models.window import BETWEEN_PERIODS
from liveops_rules.reasons import (
    AnonymousUser,
    AttributeMissing,
    BetweenPeriods,
    ConditionFailed,
    Disabled,
    Ended,
    NotStarted,
    Reason,
    TypeMismatch,
)

__all__ = [
    "Decision",
    "check_moment",
    "condition_reasons",
    "evaluate",
    "is_eligible",
]

_SHOWN = 100
_UNREAD = object()
# The moment and user `is_eligible` last checked: values that pass their checks from the start.
_checked_at: object = datetime(1970, 1, 1, tzinfo=UTC)
_checked_user: object = User()
_OPERATOR_TEXT = {operator: str(operator.value) for operator in Operator}


class Decision:
    """Whether `promotion` applies to the user at the moment asked, and why not if it does not.

    Reads like the tuple (promotion, eligible, reasons): it unpacks, indexes and compares as
    one. The reasons of a decision `evaluate` made are worked out when first read (the inputs
    are immutable, so they are the same whenever that is), and kept.
    """

    __slots__ = ("_at", "_reasons", "_user", "eligible", "promotion")

    promotion: Promotion
    eligible: bool

    def __init__(
        self, promotion: Promotion, eligible: bool, reasons: Sequence[Reason] = ()
    ) -> None:
        self.promotion = promotion
        self.eligible = eligible
        self._reasons: tuple[Reason, ...] | None = tuple(reasons)
        self._user: User | None = None
        self._at: datetime | None = None

    @classmethod
    def _deferred(cls, promotion: Promotion, user: User, at: datetime) -> Decision:
        decision = cls.__new__(cls)
        decision.promotion = promotion
        decision.eligible = False
        decision._reasons = None
        decision._user = user
        decision._at = at
        return decision

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why the promotion does not apply, in a fixed order; empty when it does."""
        found = self._reasons
        if found is None:  # a decision `evaluate` deferred: its user and moment are kept
            found = self._reasons = tuple(_reasons(self.promotion, self._user, self._at))  # type: ignore[arg-type]
        return found

    def _as_tuple(self) -> tuple[Promotion, bool, tuple[Reason, ...]]:
        return (self.promotion, self.eligible, self.reasons)

    def __iter__(self) -> Iterator[object]:
        return iter(self._as_tuple())

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> object:
        return self._as_tuple()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Decision | tuple):
            return self._as_tuple() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._as_tuple())

    def __repr__(self) -> str:
        return (
            f"Decision(promotion={self.promotion!r}, eligible={self.eligible!r}, "
            f"reasons={self.reasons!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Decision, self._as_tuple())


def check_moment(at: object, name: str = "at") -> datetime:
    """`at` if it is an aware datetime, else a ValidationError (NaiveDatetimeError if naive)."""
    if at.__class__ is datetime and at.tzinfo.__class__ is timezone:
        return at  # fixed-offset zones are always aware
    if not isinstance(at, datetime):
        raise ValidationError.single(name, "an aware datetime", at)
    if at.utcoffset() is None:
        raise NaiveDatetimeError(name)
    return at


def _check_user(user: object) -> User:
    if not isinstance(user, User):
        raise ValidationError.single("user", "a User", user)
    return user


def is_eligible(promotion: Promotion, user: User, at: datetime) -> bool:
    """Whether `promotion` applies to `user` at `at`; the same answer as `evaluate`, faster."""
    # Callers check many promotions at one moment, for one user or a new user each time: the
    # arguments are checked when the moment changes or the user is another object and not
    # exactly a User, and cost two or three tests otherwise (module globals: a list's items
    # cost a subscript more). Each global only ever holds a value that passed its check, so
    # threads sharing them stay right.
    global _checked_at, _checked_user
    if at is not _checked_at or (user is not _checked_user and user.__class__ is not User):
        _checked_at = check_moment(at)
        _checked_user = _check_user(user)
    gate = promotion.gate
    if gate is None:
        return False
    start, end, rare, equal, unequal, typed = gate
    if (start is not None and at < start) or (end is not None and at >= end):
        return False
    if rare is not None:
        periods, unauth = rare
        if periods is not None and periods.position(at):
            return False
        if unauth is not None and user.id is None:
            return unauth
    # The conditions' loops are written out here, not called: a call costs as much as a check.
    # `eq` and `ne` have a loop each: one loop testing which it is measured slower. `get` is
    # looked up per condition, not bound once: no method object is made per call, which
    # measured faster over one to six conditions and about even at six.
    attributes = user.attributes
    if equal:
        for attribute, expected, can_be_missing in equal:
            raw = attributes.get(attribute)
            if raw != expected or (raw.__class__ is not str and not isinstance(raw, str)):
                if raw is None and can_be_missing:
                    continue
                return False
    if unequal:
        for attribute, expected, can_be_missing in unequal:
            raw = attributes.get(attribute)
            if raw == expected or (raw.__class__ is not str and not isinstance(raw, str)):
                if raw is None and can_be_missing:
                    continue
                return False
    for attribute, kind, compare, expected, can_be_missing in typed:
        raw = attributes.get(attribute)
        if raw is None:
            if can_be_missing:
                continue
            return False
        if kind == NUMBER:
            if raw.__class__ is int:
                number: object = raw
            else:
                numbers = user.numbers
                number = numbers.get(attribute, _UNREAD)
                if number is _UNREAD:
                    number = numbers[attribute] = read_number(raw)
                if number is None:
                    return False
            if not compare(number, expected):
                return False
        else:
            dates = user.dates
            moment = dates.get(attribute, _UNREAD)
            if moment is _UNREAD:
                moment = dates[attribute] = read_date(raw)
            if moment is None:
                return False
            if moment.__class__ is not expected.__class__:
                moment = aligned(moment, expected)  # type: ignore[arg-type]
            if not compare(moment, expected):
                return False
    return True


eligible_at = is_eligible
"""`is_eligible` (kept for the callers that checked their arguments already)."""


def _shown(value: object) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def condition_reasons(
    conditions: Sequence[Condition], attributes: Mapping[str, object]
) -> list[Reason]:
    """A reason for every condition the attributes do not meet, in the conditions' order."""
    reasons: list[Reason] = []
    get = attributes.get
    for condition in conditions:
        raw = get(condition.attribute)
        status = check_status(condition.check, raw)
        if status == PASS:
            continue
        if status == MISSING:
            reasons.append(
                AttributeMissing(
                    condition.attribute,
                    _OPERATOR_TEXT[condition.operator],
                    condition.render_value(),
                )
            )
        elif status == MISMATCH:
            reasons.append(TypeMismatch(condition.attribute, condition.type_name, _shown(raw)))
        else:
            reasons.append(
                ConditionFailed(
                    condition.attribute,
                    _OPERATOR_TEXT[condition.operator],
                    condition.render_value(),
                    _shown(raw),
                )
            )
    return reasons


def evaluate(promotion: Promotion, user: User, at: datetime) -> Decision:
    """Decide whether `promotion` applies to `user` at `at`, with every reason it does not.

    Reasons come in a fixed order: disabled, window (`not_started`, `between_periods` with the
    next period's start, or `ended`), then each failing condition in the
    promotion's order. Nothing here reads a clock or does I/O.
    """
    if is_eligible(promotion, user, at):  # it checks the arguments
        return Decision(promotion, True)
    return Decision._deferred(promotion, user, at)


def _reasons(promotion: Promotion, user: User, at: datetime) -> list[Reason]:
    reasons: list[Reason] = []
    if not promotion.enabled:
        reasons.append(Disabled())
    window = promotion.window
    position = window.position(at)
    if position < 0:
        reasons.append(NotStarted(window.start))  # type: ignore[arg-type]
    elif position == BETWEEN_PERIODS:
        reasons.append(BetweenPeriods(window.last_end(at), window.next_start(at)))  # type: ignore[arg-type]
    elif position > 0:
        reasons.append(Ended(window.end))  # type: ignore[arg-type]
    if user.id is None and isinstance(promotion, PersonalizedCatalogRule):
        if not promotion.satisfied_for_unauth:
            reasons.append(AnonymousUser())
    else:
        reasons.extend(condition_reasons(promotion.conditions, user.attributes))
    return reasons
