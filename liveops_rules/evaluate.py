"""Decisions for one promotion, one user, one moment: eligible or not, and every reason why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from typing import NamedTuple

from liveops_rules.errors import NaiveDatetimeError, ValidationError
from liveops_rules.models.conditions import MISMATCH, MISSING, PASS, Condition
from liveops_rules.models.promotions import PersonalizedCatalogRule, Promotion
from liveops_rules.models.user import User
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


# A NamedTuple rather than an attrs class: a decision is made per promotion per request, and
# building a frozen attrs instance costs several times more here.
class Decision(NamedTuple):
    """Whether `promotion` applies to the user at the moment asked, and why not if it does not."""

    promotion: Promotion
    eligible: bool
    reasons: tuple[Reason, ...] = ()


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
    check_moment(at)
    _check_user(user)
    return eligible_at(promotion, user, at)


def eligible_at(promotion: Promotion, user: User, at: datetime) -> bool:
    """`is_eligible` for arguments already checked (an aware `at`, a User)."""
    if not promotion.enabled:
        return False
    window = promotion.window
    start, end = window.start, window.end
    if (start is not None and at < start) or (end is not None and at >= end):
        return False
    if window.periods and window.position(at):
        return False
    if user.id is None and type(promotion) is PersonalizedCatalogRule:
        return promotion.satisfied_for_unauth
    get = user.attributes.get
    for attribute, status in promotion.condition_checks:  # noqa: SIM110 - faster than all()
        if status(get(attribute)):
            return False
    return True


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
        status = condition.status(raw)
        if status == PASS:
            continue
        if status == MISSING:
            reasons.append(
                AttributeMissing(
                    condition.attribute, condition.operator.value, condition.render_value()
                )
            )
        elif status == MISMATCH:
            reasons.append(TypeMismatch(condition.attribute, condition.type_name, _shown(raw)))
        else:
            reasons.append(
                ConditionFailed(
                    condition.attribute,
                    condition.operator.value,
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
    check_moment(at)
    _check_user(user)
    if eligible_at(promotion, user, at):
        return Decision(promotion, True)
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
    if user.id is None and type(promotion) is PersonalizedCatalogRule:
        if not promotion.satisfied_for_unauth:
            reasons.append(AnonymousUser())
    else:
        reasons.extend(condition_reasons(promotion.conditions, user.attributes))
    return Decision(promotion, False, tuple(reasons))
