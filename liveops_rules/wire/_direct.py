"""Promotion payloads in their plain shape, built straight from parsed JSON.

Nearly every promotion of a catalog is plain: its kind's fields, JSON's own types, one list
of conditions, v2 dates. `direct_promotion` builds such a payload's model without the payload
classes, and answers None for anything else or anything invalid, which the detailed path
(payload classes, then `_translate`) then loads, or refuses with every problem at its JSON
path. So this module reports nothing: it only has to build what the detailed path builds,
which tests/test_wire_direct.py checks on generated payloads. Parts that catalogs repeat
(conditions, windows, rewards, price rules) are translated once by `_translate` and shared.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from liveops_rules._caches import remember
from liveops_rules.errors import ValidationError
from liveops_rules.models import (
    MAX_CONDITIONS,
    Bonus,
    Coupon,
    ItemDiscount,
    PersonalizedCatalogRule,
    PriceCondition,
    PromoCode,
    Promotion,
    PromotionKind,
    PromotionLimits,
    RewardItem,
    ShownItem,
    UniqueCatalogOffer,
    User,
    ValidityWindow,
)
from liveops_rules.models.conditions import Condition
from liveops_rules.wire import _translate
from liveops_rules.wire._forms import FIELDS, PATH_ID_FIELD, Form
from liveops_rules.wire._payloads import (
    AttributeConditionPayload,
    BonusPayload,
    CouponPayload,
    ItemDiscountPayload,
    PersonalizedRulePayload,
    PriceConditionPayload,
    PromoCodePayload,
    UniqueCatalogOfferPayload,
)

__all__ = ["direct_promotion", "direct_user"]


class _DeclinedError(Exception):
    """The payload is not plain (or not valid): the detailed path answers for it."""


_KEPT = 16_384
_PLAIN = (str, bool, type(None))
_FLAGS = (bool, type(None))
_CONDITION_FIELDS = frozenset(attrs.fields_dict(AttributeConditionPayload))
_CONDITIONS: dict[tuple[tuple[str, object], ...], Condition] = {}
_WINDOWS: dict[tuple[object, object], ValidityWindow] = {}
_REWARDS: dict[tuple[object, object], RewardItem] = {}
_PRICES: dict[tuple[object, object], PriceCondition] = {}


def _text(value: object) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise _DeclinedError


def _number(value: object) -> int | None:
    if value is None or value.__class__ is int:
        return value
    raise _DeclinedError


def _flag(value: object) -> bool:
    if value is None:
        return False
    if value.__class__ is bool:
        return value
    raise _DeclinedError


def _object(value: object, fields: frozenset[str]) -> dict[str, Any]:
    if value.__class__ is not dict or not value.keys() <= fields:
        raise _DeclinedError
    return value


def _list(value: object) -> list[Any]:
    if value.__class__ is not list:
        raise _DeclinedError
    return value


def _condition(item: object) -> Condition:
    if item.__class__ is not dict:
        raise _DeclinedError
    key = tuple(item.items())
    try:
        found = _CONDITIONS.get(key)
    except TypeError:  # an unhashable value: no plain condition
        raise _DeclinedError from None
    if found is not None:
        # Of the values a key holds, only a number could equal another type's (1 == True)
        # and only `can_be_missing` is no string.
        if item.get("can_be_missing").__class__ not in _FLAGS:
            raise _DeclinedError
        return found
    fields = _object(item, _CONDITION_FIELDS)
    if fields.get("can_be_missing").__class__ not in _FLAGS or not all(
        fields.get(name).__class__ is str for name in _REQUIRED_CONDITION_FIELDS
    ):
        raise _DeclinedError
    problems = _translate.Problems()
    found = _translate.condition(AttributeConditionPayload(**fields), "$", problems)
    if found is None or problems.found:
        raise _DeclinedError
    return remember(_CONDITIONS, key, found, _KEPT)


_REQUIRED_CONDITION_FIELDS = ("attribute", "type", "operator", "value")


def _conditions(value: object) -> tuple[Condition, ...]:
    if value is None:
        return ()
    items = _list(value)
    if not 1 <= len(items) <= MAX_CONDITIONS:
        raise _DeclinedError
    return tuple([_condition(item) for item in items])


def _window(data: dict[str, Any]) -> ValidityWindow:
    if data.get("promotion_periods") is not None:
        raise _DeclinedError
    start, end = data.get("date_start"), data.get("date_end")
    key = (_text(start), _text(end))
    found = _WINDOWS.get(key)
    if found is None:
        problems = _translate.Problems()
        found = _translate.window(start, end, "$", problems)
        if found is None or problems.found:
            raise _DeclinedError
        remember(_WINDOWS, key, found, _KEPT)
    return found


_REWARD_FIELDS = frozenset(("sku", "quantity"))


def _reward(item: object) -> RewardItem:
    fields = _object(item, _REWARD_FIELDS)
    sku, quantity = fields.get("sku"), fields.get("quantity")
    if sku.__class__ is not str:
        raise _DeclinedError
    key = (sku, 1 if quantity is None else _number(quantity))
    found = _REWARDS.get(key)
    if found is None:
        found = remember(_REWARDS, key, RewardItem(*key), _KEPT)  # type: ignore[arg-type]
    return found


def _rewards(value: object) -> tuple[RewardItem, ...]:
    return () if value is None else tuple([_reward(item) for item in _list(value)])


_PRICE_FIELDS = frozenset(("operator", "value"))


def _price(item: object) -> PriceCondition:
    fields = _object(item, _PRICE_FIELDS)
    key = (fields.get("operator"), fields.get("value"))
    if key[0].__class__ is not str or key[1].__class__ is not str:
        raise _DeclinedError
    found = _PRICES.get(key)
    if found is None:
        problems = _translate.Problems()
        payload = PriceConditionPayload(operator=key[0], value=key[1])  # type: ignore[arg-type]
        built = _translate.price_conditions([payload], "$", problems)
        if problems.found or built[0] is None:
            raise _DeclinedError
        found = remember(_PRICES, key, built[0], _KEPT)
    return found


def _prices(value: object) -> tuple[PriceCondition, ...] | None:
    return None if value is None else tuple([_price(item) for item in _list(value)])


def _ids(value: object) -> list[int] | tuple[()]:
    if value is None:
        return ()
    ids = _list(value)
    if not all(item.__class__ is int for item in ids):
        raise _DeclinedError
    return ids


_SKU_FIELDS = frozenset(("sku",))


def _skus(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    skus = tuple([_object(item, _SKU_FIELDS).get("sku") for item in _list(value)])
    if not all(sku.__class__ is str for sku in skus):
        raise _DeclinedError
    return skus  # type: ignore[return-value]


_DISCOUNT_FIELDS = frozenset(("percent",))


def _percent(value: object) -> Any:
    if value is None:
        return None
    text = _text(_object(value, _DISCOUNT_FIELDS).get("percent"))
    problems = _translate.Problems()
    percent = _translate.percent(text, "$", problems)
    if problems.found:
        raise _DeclinedError
    return percent


_LIMIT_FIELDS = frozenset(("per_user",))
_TOTAL_FIELDS = frozenset(("total",))
_STATE_FIELDS = frozenset(("available", "reserved", "used"))


def _limits(value: object, form: Form | None) -> PromotionLimits | None:
    """`limits` holding at most `per_user`: an int as written, `{total}` as read."""
    if value is None:
        return None
    per_user = _object(value, _LIMIT_FIELDS).get("per_user")
    if per_user.__class__ is dict:
        if form is Form.REQUEST:
            raise _DeclinedError
        per_user = _object(per_user, _TOTAL_FIELDS).get("total")
    elif per_user is not None and form is Form.RESPONSE:
        raise _DeclinedError
    return PromotionLimits(per_user=_number(per_user))


def _state(value: object) -> None:
    """`total_limit_state` (read-only accounting data): checked, then dropped."""
    if value is not None:
        for number in _object(value, _STATE_FIELDS).values():
            _number(number)


def _name(value: object) -> dict[str, str]:
    if value.__class__ is not dict or not all(text.__class__ is str for text in value.values()):
        raise _DeclinedError
    return value


def _named(data: dict[str, Any]) -> dict[str, Any]:
    """The fields every named promotion reads alike: its name, window and enabled flag."""
    return {
        "name": _name(data.get("name")),
        "window": _window(data),
        "enabled": _flag(data.get("is_enabled")),
    }


def _with_codes(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of a promotion with codes: its external id and three limits."""
    _state(data.get("total_limit_state"))
    return {
        "external_id": _text(data.get("external_id")),
        "redeem_total_limit": _number(data.get("redeem_total_limit")),
        "redeem_user_limit": _number(data.get("redeem_user_limit")),
        "redeem_code_limit": _number(data.get("redeem_code_limit")),
    }


def _coupon(data: dict[str, Any], _: Form | None) -> Promotion:
    return Coupon(
        **_named(data),
        **_with_codes(data),
        conditions=_conditions(data.get("attribute_conditions")),
        bonus=_rewards(data.get("bonus")),
    )


def _promo_code(data: dict[str, Any], _: Form | None) -> Promotion:
    if data.get("discounted_items") is not None:
        raise _DeclinedError
    return PromoCode(
        **_named(data),
        **_with_codes(data),
        conditions=_conditions(data.get("attribute_conditions")),
        bonus=_rewards(data.get("bonus")),
        discount_percent=_percent(data.get("discount")),
        price_conditions=_prices(data.get("price_conditions")),
        item_price_conditions=_prices(data.get("item_price_conditions")),
        excluded_promotions=_ids(data.get("excluded_promotions")),
    )


def _item_discount(data: dict[str, Any], form: Form | None) -> Promotion:
    percent = _percent(data.get("discount"))
    if percent is None:
        raise _DeclinedError
    return ItemDiscount(
        **_named(data),
        promotion_id=_number(data.get("id")),
        conditions=_conditions(data.get("attribute_conditions")),
        discount_percent=percent,
        items=_skus(data.get("items")),
        price_conditions=_prices(data.get("price_conditions")),
        limits=_limits(data.get("limits"), form),
        excluded_promotions=_ids(data.get("excluded_promotions")),
    )


def _bonus(data: dict[str, Any], form: Form | None) -> Promotion:
    if data.get("bonus") is None:
        raise _DeclinedError
    return Bonus(
        **_named(data),
        promotion_id=_number(data.get("id")),
        conditions=_conditions(data.get("attribute_conditions")),
        bonus=_rewards(data.get("bonus")),
        condition=_skus(data.get("condition")),
        price_conditions=_prices(data.get("price_conditions")),
        limits=_limits(data.get("limits"), form),
        excluded_promotions=_ids(data.get("excluded_promotions")),
    )


def _unique_catalog_offer(data: dict[str, Any], _: Form | None) -> Promotion:
    items = data.get("items")
    if items is not None and not all(sku.__class__ is str for sku in _list(items)):
        raise _DeclinedError
    return UniqueCatalogOffer(**_named(data), **_with_codes(data), items=items or ())


_SHOWN_FIELDS = frozenset(("sku", "item_id"))


def _shown(item: object) -> ShownItem:
    fields = _object(item, _SHOWN_FIELDS)
    return ShownItem(sku=_text(fields.get("sku")), item_id=_number(fields.get("item_id")))


def _personalized_rule(data: dict[str, Any], _: Form | None) -> Promotion:
    name = data.get("name")
    items = data.get("items")
    if name.__class__ is not str:
        raise _DeclinedError
    return PersonalizedCatalogRule(
        promotion_id=_number(data.get("rule_id")),
        name=name,
        enabled=_flag(data.get("is_enabled")),
        satisfied_for_unauth=_flag(data.get("is_satisfied_for_unauth")),
        conditions=_conditions(data.get("attribute_conditions")),
        items=() if items is None else tuple([_shown(item) for item in _list(items)]),
    )


_BUILDERS: dict[PromotionKind, tuple[type, Callable[[dict[str, Any], Form | None], Promotion]]] = {
    PromotionKind.COUPON: (CouponPayload, _coupon),
    PromotionKind.PROMO_CODE: (PromoCodePayload, _promo_code),
    PromotionKind.ITEM_DISCOUNT: (ItemDiscountPayload, _item_discount),
    PromotionKind.BONUS: (BonusPayload, _bonus),
    PromotionKind.UNIQUE_CATALOG_OFFER: (UniqueCatalogOfferPayload, _unique_catalog_offer),
    PromotionKind.PERSONALIZED_RULE: (PersonalizedRulePayload, _personalized_rule),
}

# The top-level fields read, for each kind and form (None: either form, as the payload
# classes have them).
_ALLOWED: dict[tuple[PromotionKind, Form | None], frozenset[str]] = {}
for _kind, (_payload, _) in _BUILDERS.items():
    _ALLOWED[_kind, None] = frozenset(attrs.fields_dict(_payload))
    for _form in (Form.REQUEST, Form.RESPONSE):
        _ALLOWED[_kind, _form] = FIELDS[_kind][_form] & _ALLOWED[_kind, None]


def direct_promotion(kind: PromotionKind, data: object, form: Form | None) -> Promotion | None:
    """The promotion of a plain payload of `kind` in `form` (None: either), as the detailed
    path builds it; None when the payload is not plain or not valid (never for an update
    body: `Form.UPDATE` is always None)."""
    allowed = _ALLOWED.get((kind, form))
    if allowed is None or data.__class__ is not dict or not data.keys() <= allowed:
        return None
    id_field = PATH_ID_FIELD[kind]
    if id_field == "external_id" and id_field not in data:
        return None
    try:
        return _BUILDERS[kind][1](data, form)
    except (_DeclinedError, ValidationError):
        return None


_USER_FIELDS = frozenset(("id", "attributes"))
_PLAIN_ATTRIBUTE_VALUES = frozenset((str, int, bool, type(None)))


def direct_user(data: object) -> User | None:
    """The user of a plain user document (an id string or null, attributes with string
    names), as the detailed path builds it; None when it is not plain or not valid."""
    if data.__class__ is not dict or not data.keys() <= _USER_FIELDS:
        return None
    user_id = data.get("id")
    attributes = data.get("attributes")
    if user_id is not None and user_id.__class__ is not str:
        return None
    if attributes is None:
        attributes = {}
    elif attributes.__class__ is not dict or not all(
        key.__class__ is str
        and (
            value.__class__ in _PLAIN_ATTRIBUTE_VALUES
            or (value.__class__ is Decimal and value.is_finite())
        )
        for key, value in attributes.items()
    ):
        return None  # a float, say, is read as the Decimal its text names: the detailed path
    try:
        return User(id=user_id, attributes=attributes)
    except ValidationError:
        return None
