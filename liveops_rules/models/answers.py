"""LiveOps' answers and small bodies around promotions: created ids, code lists and counts,
per-code limits, pages of promotions, rewards of a code, a code's verification, a repriced
cart, limit resets and rule patches. Immutable and validated, like every model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import (
    decimal_in,
    each,
    instance_of,
    int_in,
    is_bool,
    optional,
    pattern,
    to_decimal,
    to_optional_tuple,
    to_tuple,
)
from liveops_rules.models.conditions import DateCondition, NumberCondition, StringCondition
from liveops_rules.models.limits import PromotionLimits
from liveops_rules.models.promotions import (
    MAX_CONDITIONS,
    DiscountedItem,
    PersonalizedCatalogRule,
    Promotion,
    PromotionKind,
)
from liveops_rules.models.values import LocalizedName, RewardItem, ShownItem
from liveops_rules.models.window import ValidityWindow
from liveops_rules.money import CURRENCY_PATTERN

__all__ = [
    "CodeLimitPage",
    "CodeLimitState",
    "CodeList",
    "CodeRequest",
    "CodeRewards",
    "CodeVerification",
    "CreatedCode",
    "CreatedPromotion",
    "ErrorAnswer",
    "GeneratedCodes",
    "LinePromotion",
    "PromoCodeRemoveRequest",
    "PromotionPage",
    "PromotionSummary",
    "PromotionSummaryPage",
    "RedeemedCart",
    "RedeemedLine",
    "RulePatch",
    "UserLimitReset",
]

_count = int_in(0)
_optional_count = optional(int_in(0))
_code_text = pattern(r"[A-Za-z0-9]{1,128}", "a code of 1..128 Latin letters and digits")
_rewards = each(instance_of(RewardItem, "a RewardItem"))
_percent = optional(decimal_in(Decimal(0), Decimal(100), "a percent in [0, 100]"))
_amount = optional(decimal_in(Decimal(0), None, "a non-negative decimal amount"))


def _to_codes(value: Iterable[str]) -> tuple[str, ...]:
    return to_tuple(value)


def _to_rewards(value: Iterable[RewardItem] | None) -> tuple[RewardItem, ...]:
    return to_tuple(value)


def _to_discounted(value: Iterable[DiscountedItem] | None) -> tuple[DiscountedItem, ...] | None:
    return to_optional_tuple(value)


def _to_optional_ids(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return to_optional_tuple(value)


def _to_limit_states(value: Iterable[CodeLimitState]) -> tuple[CodeLimitState, ...]:
    return to_tuple(value)


def _to_promotions(value: Iterable[Promotion]) -> tuple[Promotion, ...]:
    return to_tuple(value)


def _to_summaries(value: Iterable[PromotionSummary]) -> tuple[PromotionSummary, ...]:
    return to_tuple(value)


def _to_line_promotions(value: Iterable[LinePromotion]) -> tuple[LinePromotion, ...]:
    return to_tuple(value)


def _to_lines(value: Iterable[RedeemedLine]) -> tuple[RedeemedLine, ...]:
    return to_tuple(value)


def _to_name(value: object) -> object:
    return LocalizedName(value) if isinstance(value, dict) else value


@attrs.frozen(kw_only=True)
class CreatedPromotion:
    """LiveOps' answer to a create: the new promotion's id, `{external_id}` for code
    promotions, `{promotion_id}` for discounts and bonuses, `{rule_id}` for rules."""

    external_id: str | None = attrs.field(
        default=None, validator=optional(pattern(r"\S.*", "an id"))
    )
    promotion_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    rule_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))

    def __attrs_post_init__(self) -> None:
        given = [v for v in (self.external_id, self.promotion_id, self.rule_id) if v is not None]
        if len(given) != 1:
            raise ValidationError.single(
                "external_id", "exactly one of external_id, promotion_id, rule_id", len(given)
            )


@attrs.frozen
class CodeRequest:
    """A request to add one code to a promotion (`{coupon_code}`)."""

    code: str = attrs.field(validator=_code_text)


@attrs.frozen
class CreatedCode:
    """LiveOps' answer to adding a code (`{code}`)."""

    code: str = attrs.field(validator=_code_text)


@attrs.frozen
class GeneratedCodes:
    """LiveOps' answer to a code generation: how many codes were made (`{count}`)."""

    count: int = attrs.field(validator=_count)


@attrs.frozen
class CodeList:
    """A promotion's codes as LiveOps lists them (`{codes: [{code}], total_count}`)."""

    codes: tuple[str, ...] = attrs.field(converter=_to_codes, validator=each(_code_text))
    total_count: int | None = attrs.field(default=None, validator=_optional_count)


@attrs.frozen(kw_only=True)
class CodeLimitState:
    """One code's use of its per-code limit."""

    code: str = attrs.field(validator=_code_text)
    total: int = attrs.field(validator=_count)
    available: int = attrs.field(validator=_count)
    used: int = attrs.field(validator=_count)
    reserved: int = attrs.field(validator=_count)


@attrs.frozen(kw_only=True)
class CodeLimitPage:
    """A page of a promotion's per-code limits."""

    promotion_id: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    items: tuple[CodeLimitState, ...] = attrs.field(
        default=(),
        converter=_to_limit_states,
        validator=each(instance_of(CodeLimitState, "a CodeLimitState")),
    )
    total_items_count: int | None = attrs.field(default=None, validator=_optional_count)
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))


@attrs.frozen
class UserLimitReset:
    """A request to reset one user's limits (of one promotion, or of all of them)."""

    user_id: str = attrs.field(validator=pattern(r"\S{1,255}", "a user external id"))


@attrs.frozen(kw_only=True)
class PromotionPage:
    """A page of one kind's promotions as LiveOps lists them, with the counts it gives."""

    kind: PromotionKind = attrs.field(converter=PromotionKind)
    promotions: tuple[Promotion, ...] = attrs.field(converter=_to_promotions)
    total_count: int | None = attrs.field(default=None, validator=_optional_count)
    active_count: int | None = attrs.field(default=None, validator=_optional_count)
    inactive_count: int | None = attrs.field(default=None, validator=_optional_count)
    has_more: bool | None = attrs.field(default=None, validator=optional(is_bool))

    @promotions.validator
    def _of_its_kind(self, _attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        for index, promotion in enumerate(value):
            if getattr(promotion, "kind", None) is not self.kind:
                raise ValidationError.single(
                    f"promotions[{index}]", f"a {self.kind.value}", promotion
                )


@attrs.frozen(kw_only=True)
class PromotionSummary:
    """A promotion of any kind in LiveOps' common list: its `type` (such as `item_bonus`,
    `coupon_bonus`), the items it grants and the items (or code promotions, by external id)
    it is bought with."""

    promotion_id: int = attrs.field(validator=int_in(1))
    type: str = attrs.field(validator=pattern(r"[a-z_]{1,64}", "a promotion type"))
    name: LocalizedName = attrs.field(
        factory=lambda: LocalizedName({}),
        converter=_to_name,
        validator=instance_of(LocalizedName, "a mapping of locale to text"),
    )
    window: ValidityWindow = attrs.field(
        factory=ValidityWindow, validator=instance_of(ValidityWindow, "a ValidityWindow")
    )
    enabled: bool = attrs.field(default=False, validator=is_bool)
    bonus: tuple[RewardItem, ...] = attrs.field(
        default=(), converter=_to_rewards, validator=_rewards
    )
    condition: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_to_optional_ids,
        validator=optional(each(pattern(r"\S.*", "an id"))),
    )
    """The SKUs bought, or for a code promotion's type the external ids of its promotions."""
    discount_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=_percent
    )
    limits: PromotionLimits | None = attrs.field(
        default=None, validator=optional(instance_of(PromotionLimits, "a PromotionLimits"))
    )


@attrs.frozen(kw_only=True)
class PromotionSummaryPage:
    """LiveOps' common promotion list (`GET /admin/promotion`) with its counts."""

    promotions: tuple[PromotionSummary, ...] = attrs.field(
        converter=_to_summaries, validator=each(instance_of(PromotionSummary, "a PromotionSummary"))
    )
    total_count: int | None = attrs.field(default=None, validator=_optional_count)
    active_count: int | None = attrs.field(default=None, validator=_optional_count)
    inactive_count: int | None = attrs.field(default=None, validator=_optional_count)


@attrs.frozen(kw_only=True)
class CodeRewards:
    """What a coupon or promo code grants, as LiveOps shows a player before redeeming:
    items, a cart discount and per-SKU discounts (promo codes), and whether the player picks
    the units of the items (`is_selectable`, game keys of several platforms)."""

    bonus: tuple[RewardItem, ...] = attrs.field(
        default=(), converter=_to_rewards, validator=_rewards
    )
    discount_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=_percent
    )
    discounted_items: tuple[DiscountedItem, ...] | None = attrs.field(
        default=None,
        converter=_to_discounted,
        validator=optional(each(instance_of(DiscountedItem, "a DiscountedItem"))),
    )
    is_selectable: bool = attrs.field(default=False, validator=is_bool)


@attrs.frozen(kw_only=True)
class CodeVerification:
    """LiveOps' answer to verifying a code: its promotion's kind, the code and its rewards."""

    kind: PromotionKind = attrs.field(converter=PromotionKind)
    code: str = attrs.field(validator=_code_text)
    rewards: CodeRewards = attrs.field(validator=instance_of(CodeRewards, "a CodeRewards"))

    @kind.validator
    def _has_codes(self, attribute: attrs.Attribute[Any], value: PromotionKind) -> None:
        if value not in (PromotionKind.COUPON, PromotionKind.PROMO_CODE):
            raise ValidationError.single(attribute.name, "coupon or promocode", value.value)


@attrs.frozen(kw_only=True)
class LinePromotion:
    """A promotion applied to a line of a repriced cart, as LiveOps shows it."""

    name: str | None = attrs.field(default=None, validator=optional(instance_of(str, "a name")))
    window: ValidityWindow = attrs.field(
        factory=ValidityWindow, validator=instance_of(ValidityWindow, "a ValidityWindow")
    )
    discount_percent: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=_percent
    )
    bonus: tuple[RewardItem, ...] = attrs.field(
        default=(), converter=_to_rewards, validator=_rewards
    )


@attrs.frozen(kw_only=True)
class RedeemedLine:
    """A line of a repriced cart: the unit price after and before its discounts (None for a
    line without a real-money price), and the promotions on it. A line a bonus grants has
    `is_bonus`."""

    sku: str = attrs.field(validator=pattern(r"\S.*", "an item SKU"))
    quantity: int = attrs.field(validator=int_in(1))
    amount: Decimal | None = attrs.field(default=None, converter=to_decimal, validator=_amount)
    amount_without_discount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=_amount
    )
    currency: str | None = attrs.field(
        default=None, validator=optional(pattern(CURRENCY_PATTERN, "an ISO 4217 code"))
    )
    is_free: bool = attrs.field(default=False, validator=is_bool)
    is_bonus: bool = attrs.field(default=False, validator=is_bool)
    promotions: tuple[LinePromotion, ...] = attrs.field(
        default=(),
        converter=_to_line_promotions,
        validator=each(instance_of(LinePromotion, "a LinePromotion")),
    )


@attrs.frozen(kw_only=True)
class RedeemedCart:
    """LiveOps' answer to applying (or removing) a promo code: the cart repriced, its total
    after and before discounts, its lines and the code's rewards."""

    cart_id: str | None = attrs.field(default=None, validator=optional(instance_of(str, "an id")))
    currency: str | None = attrs.field(
        default=None, validator=optional(pattern(CURRENCY_PATTERN, "an ISO 4217 code"))
    )
    amount: Decimal | None = attrs.field(default=None, converter=to_decimal, validator=_amount)
    amount_without_discount: Decimal | None = attrs.field(
        default=None, converter=to_decimal, validator=_amount
    )
    is_free: bool = attrs.field(default=False, validator=is_bool)
    items: tuple[RedeemedLine, ...] = attrs.field(
        default=(), converter=_to_lines, validator=each(instance_of(RedeemedLine, "a RedeemedLine"))
    )
    rewards: CodeRewards | None = attrs.field(
        default=None, validator=optional(instance_of(CodeRewards, "a CodeRewards"))
    )


@attrs.frozen
class PromoCodeRemoveRequest:
    """A request to take the promo code off a cart (`cart_id` None: the current cart)."""

    cart_id: str | None = attrs.field(
        default=None, validator=optional(pattern(r"[\s\S]{1,255}", "a cart id"))
    )


_Condition = StringCondition | NumberCondition | DateCondition


def _optional_conditions(value: Iterable[_Condition] | None) -> tuple[_Condition, ...] | None:
    return to_optional_tuple(value)


def _to_shown(value: Iterable[ShownItem] | None) -> tuple[ShownItem, ...] | None:
    return to_optional_tuple(value)


@attrs.frozen(kw_only=True)
class RulePatch:
    """A PATCH of a personalized rule: only the fields given change (None: unchanged)."""

    name: str | None = attrs.field(
        default=None, validator=optional(pattern(r"\S.{0,254}", "a name of 1..255 characters"))
    )
    enabled: bool | None = attrs.field(default=None, validator=optional(is_bool))
    satisfied_for_unauth: bool | None = attrs.field(default=None, validator=optional(is_bool))
    conditions: tuple[_Condition, ...] | None = attrs.field(
        default=None,
        converter=_optional_conditions,
        validator=optional(
            each(
                instance_of((StringCondition, NumberCondition, DateCondition), "a condition"),
                min_items=1,
                max_items=MAX_CONDITIONS,
            )
        ),
    )
    items: tuple[ShownItem, ...] | None = attrs.field(
        default=None,
        converter=_to_shown,
        validator=optional(each(instance_of(ShownItem, "a ShownItem"), min_items=1, max_items=100)),
    )

    def apply(self, rule: PersonalizedCatalogRule) -> PersonalizedCatalogRule:
        """`rule` with the fields this patch gives replaced."""
        if not isinstance(rule, PersonalizedCatalogRule):
            raise ValidationError.single("rule", "a PersonalizedCatalogRule", rule)
        changes: dict[str, Any] = {
            field: value
            for field, value in (
                ("name", self.name),
                ("enabled", self.enabled),
                ("satisfied_for_unauth", self.satisfied_for_unauth),
                ("conditions", self.conditions),
                ("items", self.items),
            )
            if value is not None
        }
        return attrs.evolve(rule, **changes)


def _to_extended(
    value: Iterable[Mapping[str, str]] | None,
) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value  # left for the validator to reject
    return tuple(
        tuple(sorted(entry.items())) if isinstance(entry, Mapping) else entry for entry in value
    )


def _check_detail(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in value
    ):
        raise ValidationError.single(attribute.name, "an object of texts", value)


@attrs.frozen(kw_only=True)
class ErrorAnswer:
    """LiveOps' error answer `{statusCode, errorCode, errorMessage, transactionId,
    errorMessageExtended}`, as read (`error_catalog.error_envelope` writes the library's)."""

    status_code: int = attrs.field(validator=int_in(100, 599))
    error_code: int = attrs.field(validator=int_in(0))
    message: str = attrs.field(validator=instance_of(str, "a message"))
    transaction_id: str | None = attrs.field(
        default=None, validator=optional(instance_of(str, "a transaction id"))
    )
    extended: tuple[tuple[tuple[str, str], ...], ...] | None = attrs.field(
        default=None, converter=_to_extended, validator=optional(each(_check_detail))
    )
    """`errorMessageExtended`: each entry's fields (LiveOps' `property` and `message`)."""
