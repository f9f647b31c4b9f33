"""Core models → LiveOps payloads, in the request or the response form.

A dump holds only JSON types (str, int, bool, None, list, dict). Fields that hold their
default — null, an empty list, `can_be_missing` aside — are left out; `load` reads an absent
field as its default, so `load(dump(m))` gives `m` back (see `dump_promotion` for the fields a
request form cannot carry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import cattrs

from liveops_rules.errors import Problem, ValidationError
from liveops_rules.models import (
    Bonus,
    Coupon,
    DateCondition,
    ItemDiscount,
    NumberCondition,
    PersonalizedCatalogRule,
    PriceCondition,
    PromoCode,
    Promotion,
    PromotionLimits,
    RecurrentSchedule,
    ShownItem,
    UniqueCatalogOffer,
)
from liveops_rules.models.conditions import Condition
from liveops_rules.wire._forms import FIELDS, PATH_ID_FIELD, Form
from liveops_rules.wire._payloads import (
    AttributeConditionPayload,
    BonusPayload,
    Conditions,
    CouponPayload,
    DiscountedItemPayload,
    DiscountPayload,
    ItemDiscountPayload,
    JsonStr,
    LimitsPayload,
    PersonalizedRulePayload,
    PerUserLimit,
    PerUserTotalPayload,
    PriceConditionPayload,
    PromoCodePayload,
    RecurrentSchedulePayload,
    RewardPayload,
    SchedulePayload,
    ShownItemPayload,
    SkuPayload,
    UniqueCatalogOfferPayload,
)

__all__ = ["decimal_text", "dump_conditions", "dump_model", "moment_text"]

_UNSTRUCTURE = cattrs.Converter(omit_if_default=True)
# `limits.per_user` is declared as a bare JSON value (an int, or `{total}` when read).
_UNSTRUCTURE.register_unstructure_hook(
    PerUserLimit, lambda value: _UNSTRUCTURE.unstructure(value, unstructure_as=type(value))
)
_UNSTRUCTURE.register_unstructure_hook(
    Conditions,
    lambda value: _UNSTRUCTURE.unstructure(value, unstructure_as=list[AttributeConditionPayload]),
)


def decimal_text(value: Decimal | int) -> str:
    """A number as plain decimal text, never in exponent form (`1E+3` → `1000`)."""
    return str(value) if isinstance(value, int) else format(value, "f")


def moment_text(value: datetime | None) -> str | None:
    """A moment as LiveOps writes it (ISO 8601 with its offset), None as None."""
    return None if value is None else value.isoformat()


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _condition(condition: Condition) -> AttributeConditionPayload:
    if isinstance(condition, NumberCondition):
        text = decimal_text(condition.value)
    elif isinstance(condition, DateCondition):
        text = condition.value.isoformat()
    else:
        text = condition.value
    return AttributeConditionPayload(
        attribute=JsonStr(condition.attribute),
        type=JsonStr(condition.type_name),
        operator=JsonStr(condition.operator.value),
        value=JsonStr(text),
        can_be_missing=condition.can_be_missing,  # type: ignore[arg-type]
    )


def _conditions(promotion: Promotion) -> list[AttributeConditionPayload] | None:
    return [_condition(c) for c in promotion.conditions] or None


def dump_conditions(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """`attribute_conditions` as plain JSON values."""
    found: list[dict[str, Any]] = _UNSTRUCTURE.unstructure([_condition(c) for c in conditions])
    return found


def _prices(conditions: tuple[PriceCondition, ...] | None) -> list[PriceConditionPayload] | None:
    if conditions is None:
        return None
    return [
        PriceConditionPayload(
            operator=JsonStr(c.operator.value), value=JsonStr(decimal_text(c.value))
        )
        for c in conditions
    ]


def _schedule(schedule: RecurrentSchedule) -> SchedulePayload:
    time = f"{schedule.hour:02d}:00:00{_offset_text(schedule.utc_offset)}"
    return SchedulePayload(
        interval_type=JsonStr(schedule.interval.value),
        time=JsonStr(time),
        day_of_week=schedule.day_of_week,  # type: ignore[arg-type]
        day_of_month=schedule.day_of_month,  # type: ignore[arg-type]
    )


def dump_schedule(schedule: RecurrentSchedule) -> dict[str, Any]:
    """A recurrent schedule's write form (`{interval_type, day_of_week | day_of_month, time}`)
    as plain JSON values."""
    found: dict[str, Any] = _UNSTRUCTURE.unstructure(_schedule(schedule))
    return found


def _limits(limits: PromotionLimits | None, form: Form) -> LimitsPayload | None:
    if limits is None:
        return None
    per_user: object = limits.per_user
    if form is Form.RESPONSE and limits.per_user is not None:
        per_user = PerUserTotalPayload(total=limits.per_user)  # type: ignore[arg-type]
    schedule = limits.recurrent_schedule
    return LimitsPayload(
        per_user=per_user,  # type: ignore[arg-type]
        recurrent_schedule=None
        if schedule is None
        else RecurrentSchedulePayload(per_user=_schedule(schedule)),
    )


def _rewards(promotion: Coupon | PromoCode | Bonus) -> list[RewardPayload] | None:
    return [
        RewardPayload(sku=JsonStr(r.sku), quantity=r.quantity)  # type: ignore[arg-type]
        for r in promotion.bonus
    ] or None


def _common(promotion: Any, form: Form) -> dict[str, Any]:
    return {
        "name": dict(promotion.name),
        "date_start": moment_text(promotion.window.start),
        "date_end": moment_text(promotion.window.end),
        "is_enabled": promotion.enabled if form is Form.RESPONSE else None,
    }


def _code_limits(promotion: Coupon | PromoCode | UniqueCatalogOffer) -> dict[str, Any]:
    return {
        "external_id": promotion.external_id,
        "redeem_total_limit": promotion.redeem_total_limit,
        "redeem_user_limit": promotion.redeem_user_limit,
        "redeem_code_limit": promotion.redeem_code_limit,
    }


def _coupon(promotion: Coupon, form: Form) -> CouponPayload:
    return CouponPayload(
        **_common(promotion, form),
        **_code_limits(promotion),
        bonus=_rewards(promotion),
        attribute_conditions=_conditions(promotion),
    )


def _promo_code(promotion: PromoCode, form: Form) -> PromoCodePayload:
    percent = promotion.discount_percent
    discounted = promotion.discounted_items
    return PromoCodePayload(
        **_common(promotion, form),
        **_code_limits(promotion),
        bonus=_rewards(promotion),
        attribute_conditions=_conditions(promotion),
        discount=None
        if percent is None
        else DiscountPayload(percent=JsonStr(decimal_text(percent))),
        discounted_items=None
        if discounted is None
        else [
            DiscountedItemPayload(
                sku=JsonStr(d.sku),
                discount=DiscountPayload(percent=JsonStr(decimal_text(d.percent))),
            )
            for d in discounted
        ],
        price_conditions=_prices(promotion.price_conditions),
        item_price_conditions=_prices(promotion.item_price_conditions),
        excluded_promotions=list(promotion.excluded_promotions) or None,  # type: ignore[arg-type]
    )


def _item_discount(promotion: ItemDiscount, form: Form) -> ItemDiscountPayload:
    return ItemDiscountPayload(
        **_common(promotion, form),
        id=promotion.promotion_id,  # type: ignore[arg-type]
        discount=DiscountPayload(percent=JsonStr(decimal_text(promotion.discount_percent))),
        items=None
        if promotion.items is None
        else [SkuPayload(sku=JsonStr(s)) for s in promotion.items],
        attribute_conditions=_conditions(promotion),  # type: ignore[arg-type]
        price_conditions=_prices(promotion.price_conditions),
        limits=_limits(promotion.limits, form),
        excluded_promotions=list(promotion.excluded_promotions) or None,  # type: ignore[arg-type]
    )


def _bonus(promotion: Bonus, form: Form) -> BonusPayload:
    return BonusPayload(
        **_common(promotion, form),
        id=promotion.promotion_id,  # type: ignore[arg-type]
        bonus=_rewards(promotion) or [],
        condition=None
        if promotion.condition is None
        else [SkuPayload(sku=JsonStr(s)) for s in promotion.condition],
        attribute_conditions=_conditions(promotion),
        price_conditions=_prices(promotion.price_conditions),
        limits=_limits(promotion.limits, form),
        excluded_promotions=list(promotion.excluded_promotions) or None,  # type: ignore[arg-type]
    )


def _unique_offer(promotion: UniqueCatalogOffer, form: Form) -> UniqueCatalogOfferPayload:
    return UniqueCatalogOfferPayload(
        **_common(promotion, form),
        **_code_limits(promotion),
        items=[JsonStr(s) for s in promotion.items] or None,
    )


def _shown_item(item: ShownItem, form: Form) -> ShownItemPayload:
    # A written item is `{item_id}` or `{sku}` (LiveOps' schema: one of them), the id first.
    sku = None if item.sku is None or (form is not Form.RESPONSE and item.item_id) else item.sku
    return ShownItemPayload(sku=sku, item_id=item.item_id)  # type: ignore[arg-type]


def _rule(promotion: PersonalizedCatalogRule, form: Form) -> PersonalizedRulePayload:
    return PersonalizedRulePayload(
        name=JsonStr(promotion.name),
        rule_id=promotion.promotion_id,  # type: ignore[arg-type]
        is_enabled=promotion.enabled,  # type: ignore[arg-type]
        is_satisfied_for_unauth=promotion.satisfied_for_unauth,  # type: ignore[arg-type]
        attribute_conditions=_conditions(promotion),
        items=[_shown_item(i, form) for i in promotion.items] or None,
    )


_BUILDERS: dict[type, Callable[[Any, Form], Any]] = {
    Coupon: _coupon,
    PromoCode: _promo_code,
    ItemDiscount: _item_discount,
    Bonus: _bonus,
    UniqueCatalogOffer: _unique_offer,
    PersonalizedCatalogRule: _rule,
}


def _check_representable(promotion: Promotion) -> None:
    limits = getattr(promotion, "limits", None)
    schedule = None if limits is None else limits.recurrent_schedule
    if schedule is not None and schedule.zone is not None:
        raise ValidationError.single(
            "limits.recurrent_schedule.zone",
            "a fixed UTC offset: LiveOps payloads carry no time zone names",
            schedule.zone,
        )
    if isinstance(promotion, UniqueCatalogOffer) and promotion.conditions:
        raise ValidationError.single(
            "conditions",
            "no attribute conditions: LiveOps unique catalog offers carry none",
            list(promotion.conditions),
        )
    if isinstance(promotion, PersonalizedCatalogRule) and (
        promotion.window.start is not None or promotion.window.end is not None
    ):
        raise ValidationError.single(
            "window", "an open window: LiveOps personalized rules carry no dates", promotion.window
        )


def _check_writable(promotion: Promotion) -> None:
    """What a create or update body needs that a read one may lack."""
    if isinstance(promotion, PersonalizedCatalogRule):
        problems = []
        if not promotion.conditions:
            problems.append(
                Problem("conditions", "1 to 100 conditions: a rule body needs them", "none")
            )
        if not promotion.items:
            problems.append(
                Problem("items", "1 to 100 items: a LiveOps rule written needs them", "none")
            )
        if problems:
            raise ValidationError(problems)


def _grouped_by_type(conditions: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Item discount bodies nest conditions as lists of one type each (LiveOps' schema): each
    run of one type is a list, so the conditions keep their order."""
    groups: list[list[dict[str, Any]]] = []
    for condition in conditions:
        if groups and groups[-1][0]["type"] == condition["type"]:
            groups[-1].append(condition)
        else:
            groups.append([condition])
    return groups


def _write_required(promotion: Promotion, document: dict[str, Any]) -> None:
    """The fields LiveOps' create and update schemas require, spelled out when at default."""
    if isinstance(promotion, Bonus):
        document.setdefault("condition", None)  # null: any purchase
    if isinstance(promotion, ItemDiscount):
        document.setdefault("items", [])  # no listed SKU: the price conditions choose
        if "attribute_conditions" in document:
            document["attribute_conditions"] = _grouped_by_type(document["attribute_conditions"])
    if isinstance(promotion, PromoCode) and "discounted_items" in document:
        document.setdefault("discount", {"percent": None})


def _periods(promotion: Promotion, version: int) -> list[dict[str, Any]] | None:
    """The window in LiveOps v3's `promotion_periods` (None: an open window, written as no
    periods), after checking that the version can carry it."""
    window = promotion.window
    if version == 2:
        if window.periods:
            raise ValidationError.single(
                "window.periods",
                "one period: LiveOps v2 payloads carry one date_start/date_end (dump v3)",
                f"{len(window.periods)} periods",
            )
        return None
    if window.start is None and window.end is None:
        return None
    if window.start is None:
        raise ValidationError.single(
            "window.start", "a start: every v3 period has its date_from", None
        )
    return [
        {"date_from": moment_text(start), "date_until": moment_text(end)}
        for start, end in window.all_periods
    ]


def dump_model(promotion: Promotion, form: Form, version: int = 2) -> dict[str, Any]:
    """The payload of `promotion` in `form`, with only the fields that form defines, in
    LiveOps' v2 form (`date_start`/`date_end`) or its v3 form (`promotion_periods`).

    Raises ValidationError for what LiveOps' payloads cannot carry (conditions on a unique
    catalog offer, dates on a personalized rule, a rule without conditions or items in a
    create or update body) rather than dropping it.
    """
    if version not in (2, 3):
        raise ValidationError.single("version", "2 or 3", version)
    _check_representable(promotion)
    if form is not Form.RESPONSE:
        _check_writable(promotion)
    periods = _periods(promotion, version)
    payload = _BUILDERS[type(promotion)](promotion, form)
    document: dict[str, Any] = _UNSTRUCTURE.unstructure(payload)
    if version == 3:
        document.pop("date_start", None)
        document.pop("date_end", None)
        if periods is not None:
            document["promotion_periods"] = periods
    allowed = FIELDS[promotion.kind][form]
    if form is Form.UPDATE:  # the path carries the id (a bonus body may too: never written)
        allowed = allowed - {PATH_ID_FIELD[promotion.kind]}
    document = {key: value for key, value in document.items() if key in allowed}
    if form is not Form.RESPONSE:
        _write_required(promotion, document)
    elif isinstance(promotion, PromoCode) and "discounted_items" in document:
        document.setdefault("discount", {"percent": None})
    return document
