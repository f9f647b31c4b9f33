"""Any payload by its name: `load_payload` and `dump_payload` over every kind the wire knows
(promotions, catalogs, users, carts, requests, answers, pages, chains). Imported when first
used: it needs every part of the wire."""

from __future__ import annotations

from typing import Any

from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.models import Promotion, PromotionKind, User
from liveops_rules.models.answers import PromotionPage
from liveops_rules.models.cart import Cart
from liveops_rules.pricing import Quote
from liveops_rules.wire import (
    dump_catalog,
    dump_promotion,
    dump_user,
    load_catalog,
    load_promotion,
    load_user,
)
from liveops_rules.wire._answers import ANSWER_LOADERS, dump_answer
from liveops_rules.wire._cart import dump_cart, load_cart
from liveops_rules.wire._chains import (
    CHAIN_LOADERS,
    ChainCatalog,
    dump_chain_payload,
    load_reward_chain,
    load_reward_chain_update,
    load_value_point,
    load_value_point_rewards_patch,
)
from liveops_rules.wire._forms import Form
from liveops_rules.wire._ladders import (
    LADDER_LOADERS,
    dump_ladder_payload,
    load_daily_chain,
    load_offer_chain,
)
from liveops_rules.wire._produce import redeemed_cart
from liveops_rules.wire._requests import REQUEST_LOADERS, dump_request

__all__ = ["PAYLOAD_KINDS", "dump_payload", "load_payload"]


# A page of one kind: the list's field and the counts LiveOps gives with it.
_PAGES: dict[str, tuple[PromotionKind, str, tuple[str, ...]]] = {
    f"{kind.value}_list": (
        kind,
        "promotions" if kind in (PromotionKind.ITEM_DISCOUNT, PromotionKind.BONUS) else "items",
        ("total_items_count", "has_more")
        if kind is PromotionKind.PERSONALIZED_RULE
        else ("total_promotions_count", "active_promotions_count", "inactive_promotions_count"),
    )
    for kind in PromotionKind
}
_PAGE_FIELDS = {
    "total_items_count": "total_count",
    "total_promotions_count": "total_count",
    "active_promotions_count": "active_count",
    "inactive_promotions_count": "inactive_count",
    "has_more": "has_more",
}


def _load_page(name: str, data: object, path: str) -> PromotionPage:
    kind, list_field, counts = _PAGES[name]
    if not isinstance(data, dict):
        raise ValidationError.single(path, "an object", data)
    problems = [
        Problem(f"{path}.{key}", f"one of {list_field}, " + ", ".join(counts), "an unknown field")
        for key in data
        if key != list_field and key not in counts
    ]
    items = data.get(list_field)
    promotions: list[Promotion] = []
    if not isinstance(items, list):
        problems.append(Problem(f"{path}.{list_field}", "a list", describe(items)))
    else:
        for index, item in enumerate(items):
            try:
                promotions.append(
                    load_promotion(kind, item, f"{path}.{list_field}[{index}]", Form.RESPONSE)
                )
            except ValidationError as error:
                problems.extend(error.problems)
    values: dict[str, Any] = {}
    for key in counts:
        value = data.get(key)
        wanted = bool if key == "has_more" else int
        if value is not None and type(value) is not wanted:
            problems.append(
                Problem(
                    f"{path}.{key}",
                    "true or false" if wanted is bool else "an integer",
                    describe(value),
                )
            )
        values[_PAGE_FIELDS[key]] = value
    if problems:
        raise ValidationError(problems)
    try:
        return PromotionPage(kind=kind, promotions=promotions, **values)
    except ValidationError as error:
        raise error.prefixed(path) from None


def _dump_page(page: PromotionPage) -> dict[str, Any]:
    _, list_field, counts = _PAGES[f"{page.kind.value}_list"]
    document: dict[str, Any] = {
        list_field: [dump_promotion(p, Form.RESPONSE) for p in page.promotions]
    }
    for key in counts:
        value = getattr(page, _PAGE_FIELDS[key])
        if value is not None:
            document[key] = value
    return document


PAYLOAD_KINDS: tuple[str, ...] = (
    *(kind.value for kind in PromotionKind),
    "catalog",
    "user",
    "cart",
    *REQUEST_LOADERS,
    *ANSWER_LOADERS,
    *_PAGES,
    "value_point",
    "reward_chain",
    *CHAIN_LOADERS,
    "daily_chain",
    "offer_chain",
    *LADDER_LOADERS,
)
"""Every payload `load_payload` reads, by name."""


def load_payload(name: str, data: object, path: str = "$", form: Form | str | None = None) -> Any:
    """Any supported payload, by its name in PAYLOAD_KINDS: a promotion kind (in `form`, see
    `load_promotion`), `catalog`, `user`, a request (`coupon_redeem_request`,
    `code_request`, `user_limit_set`, ...), an answer (`created`, `code_list`, `code_rewards`,
    `promocode_redeem_response`, ...), a page of one kind (`coupon_list`, ...), or a value
    point or reward chain payload: `value_point` and `reward_chain` (in `form`; a
    `reward_chain` update is a RewardChainUpdate), `value_point_rewards` (the PUT mapping; in
    the `update` form the PATCH), `value_point_rewards_patch`, `value_point_list`,
    `value_point_reward_list`, `value_point_created`, `reward_chain_list` (the admin list,
    no steps), `reward_chain_created`, `user_reward_chain_list` (a player's chains),
    `reward_chain_balance`, `clan_top_contributors`, `clan_update_response`; or a daily or
    offer chain payload: `daily_chain` and `offer_chain` (in `form`; an update body's chain
    id is its `id`, see `load_daily_chain_update` to check it against a path's),
    `daily_chain_list`, `offer_chain_list` (the admin lists; an offer chain's without steps),
    `daily_chain_created`, `offer_chain_created`."""
    if name in REQUEST_LOADERS:
        return REQUEST_LOADERS[name](data, path)
    if name in ANSWER_LOADERS:
        return ANSWER_LOADERS[name](data, path)
    if name in _PAGES:
        return _load_page(name, data, path)
    if name in CHAIN_LOADERS:
        if name == "value_point_rewards" and form is not None and Form(form) is Form.UPDATE:
            return load_value_point_rewards_patch(data, path)  # the PATCH body
        return CHAIN_LOADERS[name](data, path)
    if name in LADDER_LOADERS:
        return LADDER_LOADERS[name](data, path)
    if name == "daily_chain":
        return load_daily_chain(data, path, form)
    if name == "offer_chain":
        return load_offer_chain(data, path, form)
    if name == "value_point":
        return load_value_point(data, path, form)
    if name == "reward_chain":
        if form is not None and Form(form) is Form.UPDATE:
            return load_reward_chain_update(data, path)
        return load_reward_chain(data, path, form)
    if name == "catalog":
        return load_catalog(data, None if form is None else Form(form))
    if name == "user":
        return load_user(data, path)
    if name == "cart":
        return load_cart(data)
    try:
        kind = PromotionKind(name)
    except ValueError:
        raise ValidationError.single("kind", "one of " + ", ".join(PAYLOAD_KINDS), name) from None
    return load_promotion(kind, data, path, form)


def dump_payload(value: object, form: Form | str = Form.REQUEST) -> Any:
    """The LiveOps payload (plain JSON values) of what `load_payload` gives: a promotion (in
    `form`), a list of promotions (a catalog), a user, a request or answer model, a page of
    promotions; and of a `Quote`, LiveOps' answer to redeeming a promo code for that cart
    (see `redeemed_cart` for names and dates of the promotions); of value points, reward
    chains and their answers (see `dump_value_point`, `dump_reward_chain`; a ChainCatalog
    dumps as a catalog of its lists); of daily and offer chains, their lists and created
    answers (see `dump_daily_chain`, `dump_offer_chain`)."""
    chained = dump_chain_payload(value, form)
    if chained is not NotImplemented:
        return chained
    laddered = dump_ladder_payload(value, form)
    if laddered is not NotImplemented:
        return laddered
    if isinstance(value, ChainCatalog):
        return dump_catalog([], value)
    if isinstance(value, Promotion.__args__):
        return dump_promotion(value, form)
    if isinstance(value, Quote):
        value = redeemed_cart(value)
    if isinstance(value, PromotionPage):
        return _dump_page(value)
    if isinstance(value, User):
        return dump_user(value)
    if isinstance(value, Cart):
        return dump_cart(value)
    if isinstance(value, list) and all(isinstance(p, Promotion.__args__) for p in value):
        return dump_catalog(value)
    answer = dump_answer(value)
    return dump_request(value) if answer is None else answer
