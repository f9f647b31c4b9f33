"""LiveOps JSON ↔ models: load and dump promotion payloads, users, catalogs and requests.

Loading is strict: JSON types are checked exactly, unknown fields are refused, and a
ValidationError lists every problem with its JSON path. Dumping writes plain JSON values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from liveops_rules.codes import is_valid_code
from liveops_rules.errors import Problem, ValidationError, describe
from liveops_rules.evaluate import check_moment
from liveops_rules.models import Bonus, ItemDiscount, Promotion, PromotionKind, User
from liveops_rules.schedule import read_form_fields
from liveops_rules.wire import _translate
from liveops_rules.wire._cart import dump_cart, load_cart
from liveops_rules.wire._direct import direct_promotion, direct_user
from liveops_rules.wire._document_names import CHAIN_CATALOG_SECTIONS, LIBRARY_EXTENSIONS
from liveops_rules.wire._forms import FIELDS, PATH_ID_FIELD, Form
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

if TYPE_CHECKING:
    from liveops_rules.wire._any_payload import PAYLOAD_KINDS, dump_payload, load_payload
    from liveops_rules.wire._chains import (
        ChainCatalog,
        dump_reward_chain,
        dump_value_point,
        load_reward_chain,
        load_reward_chain_update,
        load_value_point,
        load_value_point_rewards,
        load_value_point_rewards_patch,
        player_chain,
        player_chain_page,
    )
    from liveops_rules.wire._ladders import (
        dump_daily_chain,
        dump_offer_chain,
        load_daily_chain,
        load_daily_chain_update,
        load_offer_chain,
        load_offer_chain_update,
    )
    from liveops_rules.wire._produce import code_rewards, code_verification, redeemed_cart
    from liveops_rules.wire._upsell import (
        dump_catalog_items,
        dump_upsell,
        load_catalog_items,
        load_upsell,
    )
else:
    # Imported when first asked for (PEP 562): checking a catalog of promotions needs none of
    # the chains', upsell's or answers' loaders.
    _LAZY = {
        "liveops_rules.wire._any_payload": ("PAYLOAD_KINDS", "dump_payload", "load_payload"),
        "liveops_rules.wire._chains": (
            "ChainCatalog",
            "dump_reward_chain",
            "dump_value_point",
            "load_reward_chain",
            "load_reward_chain_update",
            "load_value_point",
            "load_value_point_rewards",
            "load_value_point_rewards_patch",
            "player_chain",
            "player_chain_page",
        ),
        "liveops_rules.wire._ladders": (
            "dump_daily_chain",
            "dump_offer_chain",
            "load_daily_chain",
            "load_daily_chain_update",
            "load_offer_chain",
            "load_offer_chain_update",
        ),
        "liveops_rules.wire._produce": ("code_rewards", "code_verification", "redeemed_cart"),
        "liveops_rules.wire._upsell": (
            "dump_catalog_items",
            "dump_upsell",
            "load_catalog_items",
            "load_upsell",
        ),
    }
    _MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

    def __getattr__(name: str) -> object:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module 'liveops_rules.wire' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


__all__ = [
    "CATALOG_SECTIONS",
    "CHAIN_CATALOG_SECTIONS",
    "PAYLOAD_KINDS",
    "ChainCatalog",
    "Form",
    "code_rewards",
    "code_verification",
    "dump_cart",
    "dump_catalog",
    "dump_catalog_items",
    "dump_daily_chain",
    "dump_offer_chain",
    "dump_payload",
    "dump_promotion",
    "dump_reward_chain",
    "dump_stored_promotion",
    "dump_upsell",
    "dump_user",
    "dump_value_point",
    "load_cart",
    "load_catalog",
    "load_catalog_codes",
    "load_catalog_file",
    "load_catalog_items",
    "load_chain_catalog",
    "load_chain_catalog_file",
    "load_daily_chain",
    "load_daily_chain_update",
    "load_offer_chain",
    "load_offer_chain_update",
    "load_payload",
    "load_promotion",
    "load_reward_chain",
    "load_reward_chain_update",
    "load_stored_promotion",
    "load_update",
    "load_upsell",
    "load_user",
    "load_value_point",
    "load_value_point_rewards",
    "load_value_point_rewards_patch",
    "parse_json",
    "player_chain",
    "player_chain_page",
    "read_json_file",
    "redeemed_cart",
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
"""A catalog file's promotion lists and the kind of promotion each holds (a catalog may also
hold the lists of CHAIN_CATALOG_SECTIONS: see `load_chain_catalog`)."""

_ID_FIELD = {
    PromotionKind.ITEM_DISCOUNT: "id",
    PromotionKind.BONUS: "id",
    PromotionKind.PERSONALIZED_RULE: "rule_id",
}


def _form_problems(kind: PromotionKind, data: object, path: str, form: Form) -> list[Problem]:
    """Fields that belong to another form of the payload (unknown ones are found later)."""
    if not isinstance(data, dict):
        return []
    own = FIELDS[kind][form]
    problems = [
        Problem(f"{path}.{key}", f"a field of a {kind.value} {form.value}", "another form's field")
        for key in data
        if key not in own and any(key in FIELDS[kind][other] for other in Form)
    ]
    written = form is not Form.RESPONSE
    limits = data.get("limits")
    if isinstance(limits, dict):
        per_user = limits.get("per_user")
        if written and isinstance(per_user, dict):
            problems.append(
                Problem(
                    f"{path}.limits.per_user", "an integer or null (the write form)", "an object"
                )
            )
        if not written and per_user is not None and not isinstance(per_user, dict):
            problems.append(
                Problem(
                    f"{path}.limits.per_user", "{total} or null (the read form)", describe(per_user)
                )
            )
        if written and "per_item" in limits:
            problems.append(
                Problem(f"{path}.limits.per_item", "a field of the write form", "a response field")
            )
        recurrent = limits.get("recurrent_schedule")
        schedule = recurrent.get("per_user") if isinstance(recurrent, dict) else None
        if written and isinstance(schedule, dict):
            problems.extend(
                Problem(
                    f"{path}.limits.recurrent_schedule.per_user.{key}",
                    "a field of the write form",
                    "a response field",
                )
                for key in schedule
                if key.startswith(("reset_", "displayable_"))
            )
    if form is not Form.UPDATE:
        problems.extend(_required_id(kind, data, path))
    return problems


def _required_id(kind: PromotionKind, data: object, path: str) -> list[Problem]:
    """An external id, which every body but an update's carries."""
    if PATH_ID_FIELD[kind] != "external_id" or not isinstance(data, dict) or "external_id" in data:
        return []
    return [Problem(f"{path}.external_id", "a value (the field is required)", "nothing")]


def load_update(
    kind: PromotionKind | str,
    key: str | int,
    data: object,
    path: str = "$",
    *,
    current: Promotion | None = None,
) -> Promotion:
    """The promotion an update (PUT) body makes of the one whose id is `key` (the path's
    `external_id`, or the numeric `promotion_id` / `rule_id`).

    LiveOps replaces the whole configuration: a field the body leaves out takes its default
    (an absent `redeem_user_limit` is unlimited, an absent `attribute_conditions` none). What
    a PUT cannot change is kept from `current` when given: `is_enabled` for the kinds LiveOps
    switches with activate/deactivate. Raises ValidationError listing every problem.
    """
    kind = PromotionKind(kind)
    field = PATH_ID_FIELD[kind]
    numeric = field != "external_id"
    if isinstance(key, bool) or not isinstance(key, int if numeric else str):
        raise ValidationError.single(
            "key", "a numeric id" if numeric else "an external id string", key
        )
    if current is not None and (
        not isinstance(current, Promotion.__args__)
        or current.kind is not kind
        or current.key != str(key)
    ):
        raise ValidationError.single("current", f"the {kind.value} {key!r} being updated", current)
    problems = _form_problems(kind, data, path, Form.UPDATE)
    body = data
    if isinstance(data, dict):
        if field in data and field in FIELDS[kind][Form.UPDATE] and data[field] != key:
            problems.append(
                Problem(f"{path}.{field}", f"the id of the path, {key!r}", describe(data[field]))
            )
        body = {**data, field: key}
    promotion = _translated(kind, body, path, problems)
    if current is not None and "is_enabled" not in FIELDS[kind][Form.UPDATE]:
        promotion = attrs.evolve(promotion, enabled=current.enabled)
    return promotion


def load_promotion(
    kind: PromotionKind | str, data: object, path: str = "$", form: Form | str | None = None
) -> Promotion:
    """A promotion of `kind` from its parsed LiveOps payload.

    With `form` None either form is accepted; `Form.REQUEST` or `Form.RESPONSE` also refuses
    the other form's fields. Read-only state (`total_limit_state`, `per_item`, the
    `reset_*`/`displayable_reset_*` fields) is accepted in a response and dropped. Raises
    ValidationError listing every problem, each at its JSON path.
    """
    kind = PromotionKind(kind)
    form = None if form is None else Form(form)
    promotion = direct_promotion(kind, data, form)  # the plain payload most are
    if promotion is not None:
        return promotion
    if form is None:
        problems = _required_id(kind, data, path)
    else:
        problems = _form_problems(kind, data, path, form)
    return _translated(kind, data, path, problems)


def _translated(kind: PromotionKind, data: object, path: str, problems: list[Problem]) -> Promotion:
    """The promotion `data` describes; a ValidationError with `problems` (of its form) and
    every problem of its shape and values."""
    from liveops_rules.wire._converter import structure  # cattrs: only for this path

    payload_class, translate = _LOADERS[kind]
    try:
        promotion = translate(structure(data, payload_class, path), path)
    except ValidationError as error:
        raise ValidationError([*problems, *error.problems]) from None
    if problems:
        raise ValidationError(problems)
    return promotion


def dump_promotion(
    promotion: Promotion,
    form: Form | str = Form.REQUEST,
    *,
    at: datetime | None = None,
    version: int = 2,
) -> dict[str, Any]:
    """The LiveOps payload of `promotion` in `form` (plain JSON values).

    A request form carries no `is_enabled` except for personalized rules (LiveOps switches the
    others with activate/deactivate), and no server-assigned `id` of an item discount or
    `rule_id`; loading it back gives the promotion without those. Fields holding their
    default (null, empty lists, `is_enabled: false` in requests) are left out. With `at`, a
    response also carries the reset fields LiveOps computes for a recurrent per-user limit
    (`reset_next_date`, `displayable_reset_start_date`, `displayable_reset_next_date`).
    """
    from liveops_rules.wire._dump import dump_model  # cattrs: imported by the first dump

    document = dump_model(promotion, Form(form), version)
    schedule = getattr(getattr(promotion, "limits", None), "recurrent_schedule", None)
    if at is not None and Form(form) is Form.RESPONSE and schedule is not None:
        check_moment(at)
        document["limits"]["recurrent_schedule"]["per_user"].update(read_form_fields(schedule, at))
    return document


# The field of a stored promotion document holding what LiveOps payloads cannot carry.
_EXTENSIONS = LIBRARY_EXTENSIONS

_ZONE_EXTENSION = "recurrent_schedule_zone"
_STORED_FIELDS = ("kind", "payload", _EXTENSIONS)


def dump_stored_promotion(promotion: Promotion) -> dict[str, Any]:
    """The document a store keeps for `promotion` (plain JSON values): `kind`, `payload` (its
    LiveOps response form) and, only when needed, `library_extensions` with what LiveOps
    payloads cannot carry: `recurrent_schedule_zone`, the IANA zone of a recurrent per-user
    limit (the payload then shows the schedule's hour at +00:00). `load_stored_promotion`
    reads it back as `promotion`; `dump_promotion` itself still refuses zones.
    """
    extensions: dict[str, Any] = {}
    if isinstance(promotion, ItemDiscount | Bonus) and promotion.limits is not None:
        schedule = promotion.limits.recurrent_schedule
        if schedule is not None and schedule.zone is not None:
            extensions[_ZONE_EXTENSION] = schedule.zone
            limits = attrs.evolve(
                promotion.limits, recurrent_schedule=attrs.evolve(schedule, zone=None)
            )
            promotion = attrs.evolve(promotion, limits=limits)
    version = 3 if promotion.window.periods else 2  # v2 where it can: older readers know it
    document = {
        "kind": promotion.kind.value,
        "payload": dump_promotion(promotion, Form.RESPONSE, version=version),
    }
    if extensions:
        document[_EXTENSIONS] = extensions
    return document


def load_stored_promotion(document: object, path: str = "$") -> Promotion:
    """The promotion of a document written by `dump_stored_promotion` (also one written
    before `library_extensions` existed: `{"kind", "payload"}`). Raises ValidationError
    listing every problem, each at its JSON path."""
    if not isinstance(document, dict):
        raise ValidationError.single(path, "a stored promotion object", document)
    problems = [
        Problem(f"{path}.{key}", "one of " + ", ".join(_STORED_FIELDS), "an unknown field")
        for key in document
        if key not in _STORED_FIELDS
    ]
    problems.extend(
        Problem(f"{path}.{key}", "a field of a stored promotion", "nothing")
        for key in ("kind", "payload")
        if key not in document
    )
    kind = document.get("kind")
    if "kind" in document and (
        not isinstance(kind, str) or kind not in {k.value for k in PromotionKind}
    ):
        problems.append(
            Problem(
                f"{path}.kind",
                "one of " + ", ".join(k.value for k in PromotionKind),
                describe(kind),
            )
        )
    if problems:
        raise ValidationError(problems)
    promotion = load_promotion(
        document["kind"], document["payload"], f"{path}.payload", Form.RESPONSE
    )
    if _EXTENSIONS in document:
        promotion = _with_extensions(promotion, document, path)
    return promotion


def _with_extensions(promotion: Promotion, document: dict[str, Any], path: str) -> Promotion:
    at, extensions = f"{path}.{_EXTENSIONS}", document[_EXTENSIONS]
    if not isinstance(extensions, dict):
        raise ValidationError.single(at, "an object", extensions)
    unknown = [key for key in extensions if key != _ZONE_EXTENSION]
    if unknown:
        raise ValidationError(
            Problem(f"{at}.{key}", f"a known extension ({_ZONE_EXTENSION})", "an unknown one")
            for key in unknown
        )
    if _ZONE_EXTENSION not in extensions:
        return promotion
    zone_path = f"{at}.{_ZONE_EXTENSION}"
    limits = promotion.limits if isinstance(promotion, ItemDiscount | Bonus) else None
    schedule = None if limits is None else limits.recurrent_schedule
    if not isinstance(promotion, ItemDiscount | Bonus) or limits is None or schedule is None:
        raise ValidationError.single(
            zone_path,
            "a zone only for a promotion with a recurrent per-user limit",
            extensions[_ZONE_EXTENSION],
        )
    if schedule.utc_offset:
        raise ValidationError.single(
            f"{path}.payload.limits.recurrent_schedule.per_user.time",
            "a time at +00:00 when the schedule has a zone",
            document["payload"]["limits"]["recurrent_schedule"]["per_user"]["time"],
        )
    try:
        zoned = attrs.evolve(schedule, zone=extensions[_ZONE_EXTENSION])
    except ValidationError as error:
        raise ValidationError(attrs.evolve(p, path=zone_path) for p in error.problems) from None
    return attrs.evolve(promotion, limits=attrs.evolve(limits, recurrent_schedule=zoned))


def load_user(data: object, path: str = "$") -> User:
    """A User from `{"id": ..., "attributes": {...}}` (id null or absent: anonymous)."""
    user = direct_user(data)  # the plain document most are
    if user is not None:
        return user
    from liveops_rules.wire._converter import structure  # cattrs: only for this path

    return _translate.user(structure(data, UserPayload, path), path)


_WITH_CODES = frozenset(
    (PromotionKind.COUPON, PromotionKind.PROMO_CODE, PromotionKind.UNIQUE_CATALOG_OFFER)
)


def load_catalog(data: object, form: Form | None = None) -> list[Promotion]:
    """The promotions of a catalog object: lists `coupons`, `promocodes`, `discounts`,
    `bonuses`, `unique_catalog_offers`, `personalized_rules` of LiveOps payloads (each in
    `form` when given, see `load_promotion`).

    Every promotion needs an id (`external_id`, or `id` / `rule_id` as in GET responses), unique
    within its kind. Coupons, promo codes and unique offers may carry `codes: [...]` (see
    `load_catalog_codes`). Raises ValidationError listing every problem in the whole file.
    """
    return load_catalog_codes(data, form)[0]


def load_catalog_codes(
    data: object, form: Form | None = None
) -> tuple[list[Promotion], dict[tuple[PromotionKind, str], tuple[str, ...]]]:
    """A catalog's promotions and the codes its coupons, promo codes and unique offers carry
    in `codes` (each code valid and used once in the whole catalog)."""
    if not isinstance(data, dict):
        raise ValidationError.single("$", "an object of promotion lists", data)
    problems: list[Problem] = []
    promotions: list[Promotion] = []
    codes: dict[tuple[PromotionKind, str], tuple[str, ...]] = {}
    code_paths: dict[str, str] = {}
    seen: dict[tuple[PromotionKind, str], str] = {}
    if any(section in data for section in CHAIN_CATALOG_SECTIONS):
        # Checked here too, a catalog being valid as a whole; imported only for such a file.
        from liveops_rules.wire._chains import chain_sections

        chain_sections(data, problems)
    for section, items in data.items():
        if section in CHAIN_CATALOG_SECTIONS:
            continue
        kind = CATALOG_SECTIONS.get(section)
        if kind is None:
            known = (*CATALOG_SECTIONS, *CHAIN_CATALOG_SECTIONS)
            problems.append(
                Problem(f"$.{section}", "one of " + ", ".join(known), "an unknown list")
            )
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"$.{section}", "a list", describe(items)))
            continue
        for index, item in enumerate(items):
            path = f"$.{section}[{index}]"
            carried: object = None
            if kind in _WITH_CODES and isinstance(item, dict) and "codes" in item:
                item = dict(item)
                carried = item.pop("codes")
            try:
                promotion = load_promotion(kind, item, path, form)
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
            if carried is not None:
                found = _catalog_codes(carried, f"{path}.codes", code_paths, problems)
                codes[kind, promotion.key] = found
    if problems:
        raise ValidationError(problems)
    return promotions, codes


def _catalog_codes(
    carried: object, path: str, first_seen: dict[str, str], problems: list[Problem]
) -> tuple[str, ...]:
    if not isinstance(carried, list):
        problems.append(Problem(path, "a list of codes", describe(carried)))
        return ()
    found = []
    for index, code in enumerate(carried):
        at = f"{path}[{index}]"
        if not is_valid_code(code):
            problems.append(
                Problem(at, "a code of 1..128 Latin letters and digits", describe(code))
            )
            continue
        first = first_seen.setdefault(code, at)
        if first != at:
            problems.append(
                Problem(at, "a code used once in the catalog", f"{code!r}, also at {first}")
            )
            continue
        found.append(code)
    return tuple(found)


def load_chain_catalog(data: object) -> ChainCatalog:
    """The value points (with the item mappings they carry in `rewards`), reward chains, daily
    chains (with the `day_zone` they may carry in `library_extensions`) and offer chains of a
    catalog object's `value_points`, `reward_chains`, `daily_chains` and `offer_chains`
    lists (either form each; empty when absent). The whole catalog is checked, its promotion
    lists too (see `load_catalog`): each reward chain names a value point of the catalog, a
    clan chain a clan point. Raises ValidationError listing every problem in the whole
    file."""
    from liveops_rules.wire._chains import chain_sections

    load_catalog_codes(data)
    assert isinstance(data, dict)
    problems: list[Problem] = []
    catalog = chain_sections(data, problems)
    if problems:
        raise ValidationError(problems)
    return catalog


def load_chain_catalog_file(path: str | Path) -> ChainCatalog:
    """The value points and chains of a catalog JSON file (see `load_chain_catalog`)."""
    return load_chain_catalog(read_json_file(path))


def dump_catalog(
    promotions: list[Promotion], chains: ChainCatalog | None = None
) -> dict[str, list[dict[str, Any]]]:
    """A catalog object of promotions, each in its response form (with ids and is_enabled),
    and of the value points and chains of `chains` when given."""
    sections = {kind: name for name, kind in CATALOG_SECTIONS.items()}
    document: dict[str, list[dict[str, Any]]] = {}
    if chains is not None:
        from liveops_rules.wire._chains import dump_chain_sections

        document.update(dump_chain_sections(chains))
    for promotion in promotions:
        document.setdefault(sections[promotion.kind], []).append(
            dump_promotion(promotion, Form.RESPONSE)
        )
    return document


def dump_user(user: User) -> dict[str, Any]:
    """The user document `load_user` reads back into an equal User."""
    return {"id": user.id, "attributes": dict(user.attributes)}


def read_json_file(path: str | Path) -> object:
    """Parse a JSON file strictly (see `parse_json`)."""
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
