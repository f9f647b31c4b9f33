"""Immutable, validated values: promotions, conditions, windows, limits, users."""

from liveops_rules.models.conditions import (
    Condition,
    DateCondition,
    NumberCondition,
    StringCondition,
    read_date,
    read_number,
)
from liveops_rules.models.limits import IntervalType, PromotionLimits, RecurrentSchedule
from liveops_rules.models.promotions import (
    MAX_CONDITIONS,
    Bonus,
    Coupon,
    DiscountedItem,
    ItemDiscount,
    PersonalizedCatalogRule,
    PriceCondition,
    PromoCode,
    Promotion,
    PromotionKind,
    UniqueCatalogOffer,
)
from liveops_rules.models.user import Attributes, User
from liveops_rules.models.values import LocalizedName, Operator, RewardItem, ShownItem
from liveops_rules.models.window import Period, ValidityWindow

__all__ = [
    "MAX_CONDITIONS",
    "Attributes",
    "Bonus",
    "Condition",
    "Coupon",
    "DateCondition",
    "DiscountedItem",
    "IntervalType",
    "ItemDiscount",
    "LocalizedName",
    "NumberCondition",
    "Operator",
    "Period",
    "PersonalizedCatalogRule",
    "PriceCondition",
    "PromoCode",
    "Promotion",
    "PromotionKind",
    "PromotionLimits",
    "RecurrentSchedule",
    "RewardItem",
    "ShownItem",
    "StringCondition",
    "UniqueCatalogOffer",
    "User",
    "ValidityWindow",
    "read_date",
    "read_number",
]
