"""LiveOps JSON ↔ models: load promotion payloads, users and catalog files, strictly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models import Promotion, PromotionKind, User
from liveops_rules.wire import _translate
from liveops_rules.wire._converter import structure
from liveops_rules.wire._json import parse_json
from liveops_rules.wire._payloads import (
    BonusPayload,
    CouponPayload,
    ItemDiscountPayload,
    PersonalizedRulePayload,
    PromoCodePayload,
    UniqueCatalogOfferPayload,
    UserPayload,
)

__all__ = [
    "CATALOG_SECTIONS",
    "load_catalog",
    "load_catalog_file",
    "load_promotion",
    "load_user",
    "parse_json",
    "read_json_file",
]

_LOADERS: dict[PromotionKind, tuple[type, Callable[[Any, str], Promotion]]] = {
    PromotionKind.COUPON: (CouponPayload, _translate.coupon),
    PromotionKind.PROMO_CODE: (PromoCodePayload, _translate.promo_code),
    PromotionKind.ITEM_DISCOUNT: (ItemDiscountPayload, _translate.item_discount),
    PromotionKind.BONUS: (BonusPayload, _translate.bonus),
    PromotionKind.UNIQUE_CATALOG_OFFER: (
        UniqueCatalogOfferPayload,
        _translate.unique_catalog_offer,
    ),
    PromotionKind.PERSONALIZED_RULE: (PersonalizedRulePayload, _translate.personalized_rule),
}

CATALOG_SECTIONS: dict[str, PromotionKind] = {
    "coupons": PromotionKind.COUPON,
    "promocodes": PromotionKind.PROMO_CODE,
    "discounts": PromotionKind.ITEM_DISCOUNT,
    "bonuses": PromotionKind.BONUS,
    "unique_catalog_offers": PromotionKind.UNIQUE_CATALOG_OFFER,
    "personalized_rules": PromotionKind.PERSONALIZED_RULE,
}
"""A catalog file's lists and the kind of promotion each holds."""

_ID_FIELD = {
    PromotionKind.ITEM_DISCOUNT: "id",
    PromotionKind.BONUS: "id",
    PromotionKind.PERSONALIZED_RULE: "rule_id",
}


def load_promotion(kind: PromotionKind | str, data: object, path: str = "$") -> Promotion:
    """A promotion of `kind` from its parsed LiveOps payload (create, update or GET form).

    Raises ValidationError listing every problem, each at its JSON path.
    """
    payload_class, translate = _LOADERS[PromotionKind(kind)]
    return translate(structure(data, payload_class, path), path)


def load_user(data: object, path: str = "$") -> User:
    """A User from `{"id": ..., "attributes": {...}}` (id null or absent: anonymous)."""
    return _translate.user(structure(data, UserPayload, path), path)


def load_catalog(data: object) -> list[Promotion]:
    """The promotions of a catalog object: lists `coupons`, `promocodes`, `discounts`,
    `bonuses`, `unique_catalog_offers`, `personalized_rules` of LiveOps payloads.

    Every promotion needs an id (`external_id`, or `id` / `rule_id` as in GET responses), unique
    within its kind. Raises ValidationError listing every problem in the whole file.
    """
    if not isinstance(data, dict):
        raise ValidationError.single("$", "an object of promotion lists", data)
    problems: list[Problem] = []
    promotions: list[Promotion] = []
    seen: dict[tuple[PromotionKind, str], str] = {}
    for section, items in data.items():
        kind = CATALOG_SECTIONS.get(section)
        if kind is None:
            problems.append(
                Problem(f"$.{section}", "one of " + ", ".join(CATALOG_SECTIONS), "an unknown list")
            )
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"$.{section}", "a list", describe(items)))
            continue
        for index, item in enumerate(items):
            path = f"$.{section}[{index}]"
            try:
                promotion = load_promotion(kind, item, path)
            except ValidationError as error:
                problems.extend(error.problems)
                continue
            id_field = _ID_FIELD.get(kind, "external_id")
            if promotion.key is None:
                problems.append(
                    Problem(
                        f"{path}.{id_field}", "an id: a catalog names each promotion", "nothing"
                    )
                )
                continue
            first = seen.setdefault((kind, promotion.key), path)
            if first != path:
                problems.append(
                    Problem(
                        f"{path}.{id_field}",
                        f"an id not used before in {section}",
                        f"{promotion.key!r}, already at {first}",
                    )
                )
                continue
            promotions.append(promotion)
    if problems:
        raise ValidationError(problems)
    return promotions


def read_json_file(path: str | Path) -> object:
    """Parse a JSON file strictly; problems are reported with the file's name before `$`."""
    try:
        text = Path(path).read_bytes()
    except OSError as error:
        raise ValidationError.single(
            str(path), "a readable file", error.strerror or str(error)
        ) from None
    return parse_json(text)


def load_catalog_file(path: str | Path) -> list[Promotion]:
    """The promotions of a catalog JSON file (see `load_catalog`)."""
    return load_catalog(read_json_file(path))
