"""Payload classes → core models, reporting every problem at its JSON path.

The core models validate themselves; this module maps LiveOps' field names and shapes to
theirs (`date_start`/`date_end` → `window`, `is_enabled` → `enabled`, `discount.percent` →
`discount_percent`, `time` → `hour` and `utc_offset`, ...) and maps the models' error paths
back to JSON paths.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from liveops_rules._caches import remember
from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models import (
    MAX_CONDITIONS,
    Bonus,
    Coupon,
    DateCondition,
    DiscountedItem,
    ItemDiscount,
    NumberCondition,
    Period,
    PersonalizedCatalogRule,
    PriceCondition,
    PromoCode,
    PromotionLimits,
    RecurrentSchedule,
    RewardItem,
    ShownItem,
    StringCondition,
    UniqueCatalogOffer,
    User,
    ValidityWindow,
)
from liveops_rules.models._validate import build
from liveops_rules.models.conditions import read_date
from liveops_rules.wire._payloads import (
    AttributeConditionPayload,
    BonusPayload,
    ConditionGroups,
    CouponPayload,
    ItemDiscountPayload,
    LimitsPayload,
    PeriodPayload,
    PersonalizedRulePayload,
    PriceConditionPayload,
    PromoCodePayload,
    RewardPayload,
    SchedulePayload,
    UniqueCatalogOfferPayload,
    UserPayload,
)

T = TypeVar("T")

_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2})",
    re.ASCII,
)
_PRICE = re.compile(r"\d+(?:\.\d{1,4})?", re.ASCII)
_PERCENT = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_NUMBER_VALUE = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_TIME = re.compile(r"(0\d|1\d|2[0-3]):00:00([+-])(0\d|1\d|2[0-3]):([0-5]\d)", re.ASCII)


class Problems:
    """Collects problems while a payload is translated; raises them all at the end."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, path: str, expected: str, value: object) -> None:
        """Record that the value at `path` is not what was expected."""
        self.found.append(Problem(path, expected, describe(value)))

    def build(
        self, cls: type[T], values: dict[str, Any], path: str, names: Mapping[str, str]
    ) -> T | None:
        """Build a model, recording its problems at JSON paths (`names`: model → JSON field)."""
        try:
            return build(cls, values)
        except ValidationError as error:
            known = {p.path for p in self.found}
            for problem in error.problems:
                head, tail = _split(problem.path)
                at = f"{path}.{names.get(head, head)}{tail}"
                if at not in known:  # a part that failed is not reported twice
                    self.found.append(Problem(at, problem.expected, problem.found))
            return None

    def raise_if_any(self) -> None:
        """Raise every problem recorded, if any."""
        if self.found:
            raise ValidationError(self.found)


def _split(path: str) -> tuple[str, str]:
    match = re.match(r"[^.\[]*", path)
    head = match.group(0) if match else path
    return head, path[len(head) :]


def _integral(value: Decimal | int) -> Decimal | int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def moment(text: str, path: str, problems: Problems) -> datetime | None:
    """An ISO 8601 / RFC 3339 date-time with an offset."""
    if _DATETIME.fullmatch(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if parsed.utcoffset() is not None:
                return parsed
    problems.add(path, "a date-time with an offset, like 2026-01-31T18:00:00+03:00", text)
    return None


def periods(
    payloads: Sequence[PeriodPayload], path: str, problems: Problems
) -> ValidityWindow | None:
    """LiveOps v3 `promotion_periods`: one or more periods, not overlapping; with more than
    one, each has its `date_until`."""
    if not payloads:
        problems.add(path, "one period or more", [])
        return None
    found: list[Period | None] = []
    for index, payload in enumerate(payloads):
        at = f"{path}[{index}]"
        start = moment(payload.date_from, f"{at}.date_from", problems)
        end = (
            None
            if payload.date_until is None
            else moment(payload.date_until, f"{at}.date_until", problems)
        )
        if start is None or (payload.date_until is not None and end is None):
            found.append(None)
            continue
        if end is None and len(payloads) > 1:
            problems.add(f"{at}.date_until", "an end: with several periods each has one", None)
            found.append(None)
            continue
        found.append(
            problems.build(
                Period,
                {"start": start, "end": end},
                at,
                {"start": "date_from", "end": "date_until"},
            )
        )
    built = [p for p in found if p is not None]
    if len(built) < len(found):
        return None
    ordered = sorted(range(len(built)), key=lambda i: built[i].start)
    for before, after in itertools.pairwise(ordered):
        end = built[before].end
        if end is not None and built[after].start < end:
            problems.add(
                f"{path}[{after}].date_from",
                f"a start after the end of {path}[{before}] (periods may not overlap)",
                payloads[after].date_from,
            )
            return None
    return ValidityWindow.of_periods(built)


def window(
    start: str | None,
    end: str | None,
    path: str,
    problems: Problems,
    v3: Sequence[PeriodPayload] | None = None,
) -> ValidityWindow | None:
    """`date_start` and `date_end` (v2), or `promotion_periods` (v3), as a ValidityWindow."""
    if v3 is not None:
        if start is not None or end is not None:
            problems.add(
                f"{path}.promotion_periods",
                "either date_start/date_end (v2) or promotion_periods (v3), not both",
                "both",
            )
            return None
        return periods(v3, f"{path}.promotion_periods", problems)
    start_at = None if start is None else moment(start, f"{path}.date_start", problems)
    end_at = None if end is None else moment(end, f"{path}.date_end", problems)
    if (start is not None and start_at is None) or (end is not None and end_at is None):
        return None
    return problems.build(
        ValidityWindow,
        {"start": start_at, "end": end_at},
        path,
        {"start": "date_start", "end": "date_end"},
    )


_CONDITIONS: dict[AttributeConditionPayload, StringCondition | NumberCondition | DateCondition] = {}
_CONDITIONS_KEPT = 16_384


def condition(
    payload: AttributeConditionPayload, path: str, problems: Problems
) -> StringCondition | NumberCondition | DateCondition | None:
    """One attribute condition, by its `type`.

    Catalogs repeat the same conditions across promotions, and conditions are immutable:
    a valid one already built is shared rather than built again."""
    found = _CONDITIONS.get(payload)
    if found is not None:
        return found
    faults = len(problems.found)
    built = _condition(payload, path, problems)
    if built is not None and len(problems.found) == faults:
        remember(_CONDITIONS, payload, built, _CONDITIONS_KEPT)
    return built


def _condition(
    payload: AttributeConditionPayload, path: str, problems: Problems
) -> StringCondition | NumberCondition | DateCondition | None:
    values: dict[str, Any] = {
        "attribute": payload.attribute,
        "operator": payload.operator,
        "can_be_missing": bool(payload.can_be_missing),
    }
    if payload.type == "string":
        return problems.build(StringCondition, {**values, "value": payload.value}, path, {})
    if payload.type == "number":
        if not _NUMBER_VALUE.fullmatch(payload.value):
            problems.add(
                f"{path}.value", "a decimal number as text, like 10 or -2.5", payload.value
            )
            return None
        return problems.build(
            NumberCondition, {**values, "value": Decimal(payload.value)}, path, {}
        )
    if payload.type == "date":
        day = read_date(payload.value)
        if day is None:
            problems.add(
                f"{path}.value",
                "a date (2026-01-31) or a date-time with an offset",
                payload.value,
            )
            return None
        return problems.build(DateCondition, {**values, "value": day}, path, {})
    problems.add(f"{path}.type", "one of string, number, date", payload.type)
    return None


def conditions(
    payloads: Sequence[AttributeConditionPayload] | ConditionGroups | None,
    path: str,
    problems: Problems,
) -> tuple[Any, ...]:
    """`attribute_conditions`: absent or 1..100 conditions, as one list or (item discounts)
    as a list of lists, all of which must hold."""
    if payloads is None:
        return ()
    if isinstance(payloads, ConditionGroups):
        located = [
            (p, f"{path}[{i}][{j}]")
            for i, group in enumerate(payloads.groups)
            for j, p in enumerate(group)
        ]
    else:
        located = [(p, f"{path}[{i}]") for i, p in enumerate(payloads)]
    if not 1 <= len(located) <= MAX_CONDITIONS:
        problems.add(path, f"1 to {MAX_CONDITIONS} conditions (or no list)", len(located))
    return tuple(condition(p, at, problems) for p, at in located)


def _each(
    payloads: Sequence[T] | None, path: str, make: Callable[[T, str], Any]
) -> tuple[Any, ...] | None:
    if payloads is None:
        return None
    return tuple(make(p, f"{path}[{i}]") for i, p in enumerate(payloads))


def rewards(payloads: Sequence[RewardPayload] | None, path: str, problems: Problems) -> Any:
    """`bonus`: a list of `{sku, quantity}`."""
    return _each(
        payloads,
        path,
        lambda p, at: problems.build(
            RewardItem,
            {"sku": p.sku, "quantity": 1 if p.quantity is None else _integral(p.quantity)},
            at,
            {},
        ),
    )


def price_conditions(
    payloads: Sequence[PriceConditionPayload] | None, path: str, problems: Problems
) -> Any:
    """`price_conditions` / `item_price_conditions`: `{operator, value}` with decimal strings."""

    def make(payload: PriceConditionPayload, at: str) -> PriceCondition | None:
        if not _PRICE.fullmatch(payload.value):
            problems.add(
                f"{at}.value", "an amount like 10 or 9.99 (at most 4 decimals)", payload.value
            )
            return None
        return problems.build(
            PriceCondition, {"operator": payload.operator, "value": Decimal(payload.value)}, at, {}
        )

    return _each(payloads, path, make)


def percent(text: str | None, path: str, problems: Problems) -> Decimal | None:
    """A discount percent sent as text, like "10.00"."""
    if text is None:
        return None
    if not _PERCENT.fullmatch(text):
        problems.add(path, "a percent as text, like 10.00", text)
        return None
    return Decimal(text)


def recurrent_schedule(
    spec: SchedulePayload, at: str, problems: Problems
) -> RecurrentSchedule | None:
    """A recurrent schedule (`{interval_type, day_of_week | day_of_month, time}`, read-only
    `reset_*` fields dropped) at JSON path `at`."""
    match = _TIME.fullmatch(spec.time)
    if match is None:
        problems.add(f"{at}.time", "an hour with an offset, like 02:00:00+03:00", spec.time)
        return None
    hour, sign, offset_hours, offset_minutes = match.groups()
    offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
    return problems.build(
        RecurrentSchedule,
        {
            "interval": spec.interval_type,
            "hour": int(hour),
            "utc_offset": -offset if sign == "-" else offset,
            "day_of_week": spec.day_of_week,
            "day_of_month": spec.day_of_month,
        },
        at,
        {"interval": "interval_type"},
    )


def limits(payload: LimitsPayload | None, path: str, problems: Problems) -> PromotionLimits | None:
    """`limits`, in its write form or its read form (read-only fields are dropped)."""
    if payload is None:
        return None
    per_user = payload.per_user
    if per_user is not None and not isinstance(per_user, int):
        per_user = per_user.total  # type: ignore[attr-defined]
    schedule = None
    recurrent = payload.recurrent_schedule
    if recurrent is not None and recurrent.per_user is not None:
        schedule = recurrent_schedule(
            recurrent.per_user, f"{path}.recurrent_schedule.per_user", problems
        )
    return problems.build(
        PromotionLimits, {"per_user": per_user, "recurrent_schedule": schedule}, path, {}
    )


_COMMON_NAMES = {"enabled": "is_enabled", "conditions": "attribute_conditions"}


def _common(payload: Any, path: str, problems: Problems) -> dict[str, Any]:
    return {
        "name": payload.name,
        "window": window(
            payload.date_start, payload.date_end, path, problems, payload.promotion_periods
        ),
        "enabled": bool(payload.is_enabled),
        "conditions": conditions(
            getattr(payload, "attribute_conditions", None), f"{path}.attribute_conditions", problems
        ),
    }


def _purchase_rules(payload: Any, path: str, problems: Problems) -> dict[str, Any]:
    """What promotions applied to purchases share: price rules, exclusions, limits."""
    values = {
        "price_conditions": price_conditions(
            payload.price_conditions, f"{path}.price_conditions", problems
        ),
        "excluded_promotions": payload.excluded_promotions or (),
    }
    if hasattr(payload, "limits"):
        values["limits"] = limits(payload.limits, f"{path}.limits", problems)
    return values


def _code_limits(payload: Any) -> dict[str, Any]:
    return {
        "external_id": payload.external_id,
        "redeem_total_limit": payload.redeem_total_limit,
        "redeem_user_limit": payload.redeem_user_limit,
        "redeem_code_limit": payload.redeem_code_limit,
    }


def _finish(
    cls: type[T],
    values: dict[str, Any],
    path: str,
    problems: Problems,
    names: Mapping[str, str],
) -> T:
    # Parts that failed are left out (or emptied) so that the promotion's own fields are
    # still checked: the caller learns of every problem in one answer.
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, tuple):
            clean[key] = tuple(item for item in value if item is not None)
        elif value is not None or key not in _PARTS:
            clean[key] = value
    built = problems.build(cls, clean, path, {**_COMMON_NAMES, **names})
    problems.raise_if_any()
    assert built is not None
    return built


_PARTS = frozenset({"window", "limits"})


def coupon(payload: CouponPayload, path: str = "$") -> Coupon:
    """A Coupon from its payload."""
    problems = Problems()
    values = {
        **_common(payload, path, problems),
        **_code_limits(payload),
        "bonus": rewards(payload.bonus, f"{path}.bonus", problems) or (),
    }
    return _finish(Coupon, values, path, problems, {})


def promo_code(payload: PromoCodePayload, path: str = "$") -> PromoCode:
    """A PromoCode from its payload."""
    problems = Problems()
    discounted = _each(
        payload.discounted_items,
        f"{path}.discounted_items",
        lambda p, at: problems.build(
            DiscountedItem,
            {
                "sku": p.sku,
                "percent": percent(p.discount.percent, f"{at}.discount.percent", problems),
            },
            at,
            {"percent": "discount.percent"},
        ),
    )
    values = {
        **_common(payload, path, problems),
        **_purchase_rules(payload, path, problems),
        **_code_limits(payload),
        "bonus": rewards(payload.bonus, f"{path}.bonus", problems) or (),
        "discount_percent": percent(
            payload.discount.percent if payload.discount else None,
            f"{path}.discount.percent",
            problems,
        ),
        "discounted_items": discounted,
        "item_price_conditions": price_conditions(
            payload.item_price_conditions, f"{path}.item_price_conditions", problems
        ),
    }
    return _finish(PromoCode, values, path, problems, {"discount_percent": "discount.percent"})


def item_discount(payload: ItemDiscountPayload, path: str = "$") -> ItemDiscount:
    """An ItemDiscount from its payload."""
    problems = Problems()
    discount = percent(payload.discount.percent, f"{path}.discount.percent", problems)
    if payload.discount.percent is None:
        problems.add(f"{path}.discount.percent", "a percent as text, like 10.00", None)
    values = {
        **_common(payload, path, problems),
        **_purchase_rules(payload, path, problems),
        "promotion_id": payload.id,
        "discount_percent": discount,
        "items": None if payload.items is None else tuple(i.sku for i in payload.items),
    }
    return _finish(
        ItemDiscount,
        values,
        path,
        problems,
        {"promotion_id": "id", "discount_percent": "discount.percent"},
    )


def bonus(payload: BonusPayload, path: str = "$") -> Bonus:
    """A Bonus from its payload."""
    problems = Problems()
    values = {
        **_common(payload, path, problems),
        **_purchase_rules(payload, path, problems),
        "promotion_id": payload.id,
        "bonus": rewards(payload.bonus, f"{path}.bonus", problems),
        "condition": None if payload.condition is None else tuple(i.sku for i in payload.condition),
    }
    return _finish(Bonus, values, path, problems, {"promotion_id": "id"})


def unique_catalog_offer(payload: UniqueCatalogOfferPayload, path: str = "$") -> UniqueCatalogOffer:
    """A UniqueCatalogOffer from its payload."""
    problems = Problems()
    values = {
        **_common(payload, path, problems),
        **_code_limits(payload),
        "items": payload.items or (),
    }
    return _finish(UniqueCatalogOffer, values, path, problems, {})


def personalized_rule(payload: PersonalizedRulePayload, path: str = "$") -> PersonalizedCatalogRule:
    """A PersonalizedCatalogRule from its payload."""
    problems = Problems()
    items = _each(
        payload.items,
        f"{path}.items",
        lambda p, at: problems.build(ShownItem, {"sku": p.sku, "item_id": p.item_id}, at, {}),
    )
    values = {
        "name": payload.name,
        "promotion_id": payload.rule_id,
        "enabled": bool(payload.is_enabled),
        "satisfied_for_unauth": bool(payload.is_satisfied_for_unauth),
        "conditions": conditions(
            payload.attribute_conditions, f"{path}.attribute_conditions", problems
        ),
        "items": items or (),
    }
    return _finish(
        PersonalizedCatalogRule,
        values,
        path,
        problems,
        {"promotion_id": "rule_id", "satisfied_for_unauth": "is_satisfied_for_unauth"},
    )


def user(payload: UserPayload, path: str = "$") -> User:
    """A User from `{id, attributes}`."""
    problems = Problems()
    built = problems.build(
        User, {"id": payload.id, "attributes": payload.attributes or {}}, path, {}
    )
    problems.raise_if_any()
    assert built is not None
    return built


__all__ = [
    "bonus",
    "coupon",
    "item_discount",
    "personalized_rule",
    "promo_code",
    "unique_catalog_offer",
    "user",
]
