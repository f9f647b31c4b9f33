"""LiveOps JSON ↔ value points and reward chains: the admin bodies and reads, item mappings,
and what a player reads (chains with balance and claimed steps, the balance, top
contributors, the clan update answer).

Loading is strict as for promotions: exact JSON types, unknown fields refused, each form's
own fields only, every problem with its JSON path. Item descriptions LiveOps adds to reads
(`name`, `type`, `image_url`, ...) are accepted and read past.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import attrs

from liveops_rules.errors import Problem, ValidationError
from liveops_rules.models import User
from liveops_rules.models._validate import to_tuple
from liveops_rules.models.chain_answers import (
    ClanUpdateAnswer,
    Contributor,
    CreatedRewardChain,
    CreatedValuePoint,
    PlayerChain,
    PlayerChainPage,
    PlayerChainStep,
    PlayerValuePoint,
    RewardChainPage,
    TopContributors,
    ValuePointList,
    ValuePointRewardList,
    ValuePointRewardPatch,
)
from liveops_rules.models.chains import (
    MAX_CHAIN_STEPS,
    MAX_STEP_REWARDS,
    ChainReward,
    ClanSettings,
    ClanType,
    MediaItem,
    RewardChain,
    RewardChainStep,
    RewardChainSummary,
    RewardChainUpdate,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.models.daily import DailyChain
from liveops_rules.models.offer import OfferChain
from liveops_rules.models.values import LocalizedName, RewardItem
from liveops_rules.models.window import ValidityWindow
from liveops_rules.wire._chain_common import (
    READ_SCHEDULE,
    dump_texts,
    finish,
    form_problems,
    section,
    structured,
    texts,
    without_none,
)
from liveops_rules.wire._converter import structure
from liveops_rules.wire._document_names import CHAIN_CATALOG_SECTIONS
from liveops_rules.wire._dump import dump_conditions, dump_schedule, moment_text
from liveops_rules.wire._forms import Form
from liveops_rules.wire._ladders import (
    dump_daily_chain,
    dump_offer_chain,
    load_daily_chain,
    load_offer_chain,
)
from liveops_rules.wire._payloads import (
    AnyJson,
    AttributeConditionPayload,
    JsonBool,
    JsonInt,
    JsonStr,
    LocaleTexts,
    SchedulePayload,
)
from liveops_rules.wire._translate import Problems, conditions, moment, recurrent_schedule, window

__all__ = [
    "CHAIN_CATALOG_SECTIONS",
    "CHAIN_LOADERS",
    "MAX_TOP_CONTRIBUTORS",
    "ChainCatalog",
    "chain_sections",
    "dump_chain_payload",
    "dump_chain_sections",
    "dump_reward_chain",
    "dump_value_point",
    "load_reward_chain",
    "load_reward_chain_update",
    "load_value_point",
    "load_value_point_rewards",
    "load_value_point_rewards_patch",
    "player_chain",
    "player_chain_page",
]

MAX_TOP_CONTRIBUTORS = 10
"""LiveOps lists at most this many top contributors of a clan."""

_MS_THRESHOLD = 10**11  # a reset_next_date above this is in milliseconds


# -- payload classes (structure and JSON types only) ---------------------------------------


@attrs.frozen(kw_only=True)
class _Media:
    type: JsonStr
    url: JsonStr


@attrs.frozen(kw_only=True)
class _ValuePoint:
    sku: JsonStr
    name: LocaleTexts
    description: LocaleTexts | None = None
    long_description: LocaleTexts | None = None
    image_url: JsonStr | None = None
    media_list: list[_Media] | None = None
    order: JsonInt | None = None
    is_enabled: JsonBool | None = None
    is_clan: JsonBool | None = None
    type: JsonStr | None = None
    can_delete: JsonBool | None = None


@attrs.frozen(kw_only=True)
class _ValuePointList:
    items: list[_ValuePoint]


@attrs.frozen(kw_only=True)
class _Mapping:
    sku: JsonStr
    amount: JsonInt


@attrs.frozen(kw_only=True)
class _MappingRead:
    sku: JsonStr
    amount: JsonInt
    item_id: AnyJson | None = None
    name: AnyJson | None = None
    image_url: AnyJson | None = None
    is_clan: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _MappingList:
    items: list[_MappingRead]


@attrs.frozen(kw_only=True)
class _CreatedPoint:
    sku: JsonStr
    item_id: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _CreatedChain:
    reward_chain_id: JsonInt


@attrs.frozen(kw_only=True)
class _Price:
    amount: JsonInt


@attrs.frozen(kw_only=True)
class _Reward:
    sku: JsonStr
    quantity: JsonInt | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None


@attrs.frozen(kw_only=True)
class _Step:
    name: LocaleTexts
    price: _Price
    reward: list[_Reward]
    step_id: JsonInt | None = None
    image_url: JsonStr | None = None


@attrs.frozen(kw_only=True)
class _ChainPoint:
    """`value_point` of a chain: `{sku}` when written, the whole value point when read."""

    sku: JsonStr
    name: AnyJson | None = None
    type: AnyJson | None = None
    is_enabled: AnyJson | None = None
    description: AnyJson | None = None
    long_description: AnyJson | None = None
    image_url: AnyJson | None = None
    media_list: AnyJson | None = None
    order: AnyJson | None = None
    is_clan: AnyJson | None = None
    amount: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _Chain:
    name: LocaleTexts
    date_start: JsonStr
    reward_chain_id: JsonInt | None = None
    description: LocaleTexts | None = None
    long_description: LocaleTexts | None = None
    image_url: JsonStr | None = None
    order: JsonInt | None = None
    date_end: JsonStr | None = None
    is_enabled: JsonBool | None = None
    value_point: _ChainPoint | None = None
    steps: list[_Step] | None = None
    recurrent_schedule: SchedulePayload | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None
    is_always_visible: JsonBool | None = None
    popup_header: LocaleTexts | None = None
    popup_instruction: LocaleTexts | None = None
    popup_image_url: JsonStr | None = None
    clan_type: JsonStr | None = None
    top_contributors: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _ChainList:
    items: list[AnyJson]
    has_more: JsonBool | None = None
    total_items_count: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _Contributor:
    name: JsonStr
    contributed_amount: JsonInt


@attrs.frozen(kw_only=True)
class _PlayerPoint:
    sku: JsonStr
    name: JsonStr
    amount: JsonInt
    image_url: JsonStr | None = None
    description: JsonStr | None = None
    long_description: JsonStr | None = None
    is_clan: JsonBool | None = None


@attrs.frozen(kw_only=True)
class _ShownReward:
    sku: JsonStr
    quantity: JsonInt | None = None
    name: AnyJson | None = None
    type: AnyJson | None = None
    description: AnyJson | None = None
    image_url: AnyJson | None = None
    bundle_type: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _PlayerStep:
    step_id: JsonInt
    name: JsonStr
    is_claimed: JsonBool
    price: _Price
    reward: list[_ShownReward]
    image_url: JsonStr | None = None


@attrs.frozen(kw_only=True)
class _PlayerSchedule:
    interval_type: JsonStr
    reset_next_date: JsonInt


@attrs.frozen(kw_only=True)
class _PlayerChain:
    reward_chain_id: JsonInt
    name: JsonStr
    date_start: JsonStr
    value_point: _PlayerPoint
    steps: list[_PlayerStep]
    description: JsonStr | None = None
    long_description: JsonStr | None = None
    image_url: JsonStr | None = None
    order: JsonInt | None = None
    date_end: JsonStr | None = None
    recurrent_schedule: _PlayerSchedule | None = None
    clan_type: JsonStr | None = None
    top_contributors: list[_Contributor] | None = None
    popup_header: LocaleTexts | None = None
    popup_instruction: LocaleTexts | None = None
    popup_image_url: JsonStr | None = None


@attrs.frozen(kw_only=True)
class _PlayerPage:
    items: list[_PlayerChain]
    has_more: JsonBool | None = None
    total_items_count: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _ClanUpdate:
    reward: list[_ShownReward]


# -- the fields of each form ---------------------------------------------------------------

_POINT_WRITE = frozenset(
    (
        "sku",
        "name",
        "description",
        "long_description",
        "image_url",
        "media_list",
        "order",
        "is_enabled",
        "is_clan",
    )
)
_POINT_READ = _POINT_WRITE | {"type", "can_delete"}
_CLAN = frozenset(("popup_header", "popup_instruction", "popup_image_url", "clan_type"))
_CHAIN_COMMON = frozenset(
    (
        "name",
        "description",
        "long_description",
        "image_url",
        "order",
        "date_start",
        "date_end",
        "is_enabled",
        "recurrent_schedule",
        "attribute_conditions",
        "is_always_visible",
        *_CLAN,
    )
)
_CHAIN_FIELDS: dict[Form, frozenset[str]] = {
    Form.REQUEST: _CHAIN_COMMON | {"value_point", "steps"},
    # LiveOps' clan PUT schema repeats `value_point`; it must name the chain's own.
    Form.UPDATE: _CHAIN_COMMON | {"value_point", "steps"},
    Form.RESPONSE: _CHAIN_COMMON | {"value_point", "steps", "reward_chain_id", "top_contributors"},
}
_CHAIN_REQUIRED: dict[Form, tuple[str, ...]] = {
    Form.REQUEST: ("is_enabled", "value_point", "steps"),
    Form.UPDATE: ("is_enabled", "steps"),
    Form.RESPONSE: ("value_point", "steps"),
}
_SUMMARY = "summary"  # the admin list's item: a response without steps
_CLAN_TYPES = tuple(t.value for t in ClanType)


# -- value points and mappings -------------------------------------------------------------


def _point(payload: _ValuePoint, path: str, problems: Problems) -> ValuePoint | None:
    if payload.type is not None and payload.type != "value_point":
        problems.add(f"{path}.type", "value_point", payload.type)
    for index, item in enumerate(payload.media_list or ()):
        if item.type not in ("image", "video"):
            problems.add(f"{path}.media_list[{index}].type", "image or video", item.type)
            return None
    media = [
        problems.build(MediaItem, {"type": m.type, "url": m.url}, f"{path}.media_list[{i}]", {})
        for i, m in enumerate(payload.media_list or ())
    ]
    if any(m is None for m in media):
        return None
    values: dict[str, Any] = {
        "sku": payload.sku,
        "name": texts(payload.name),
        "description": texts(payload.description),
        "long_description": texts(payload.long_description),
        "image_url": payload.image_url,
        "media_list": media,
        "order": payload.order,
        "enabled": True if payload.is_enabled is None else payload.is_enabled,
        "is_clan": bool(payload.is_clan),
    }
    return problems.build(ValuePoint, values, path, {"enabled": "is_enabled"})


def load_value_point(data: object, path: str = "$", form: Form | str | None = None) -> ValuePoint:
    """A value point from its admin body (`request`: POST or PUT) or read (`response`: adds
    `type: "value_point"` and `can_delete`, dropped); `form` None accepts either."""
    found = []
    if form is not None and Form(form) is not Form.RESPONSE:
        found = form_problems(data, path, _POINT_WRITE, _POINT_READ, "a value point body")
    payload = structured(data, _ValuePoint, path, found)
    problems = Problems()
    problems.found.extend(found)
    return finish(problems, _point(payload, path, problems))


def dump_value_point(
    point: ValuePoint, form: Form | str = Form.REQUEST, *, can_delete: bool | None = None
) -> dict[str, Any]:
    """A value point's admin body (`request`/`update`) or read (`response`, with `type` and,
    when given, `can_delete`)."""
    document = without_none(
        {
            "sku": point.sku,
            "name": dict(point.name.pairs),
            "description": dump_texts(point.description),
            "long_description": dump_texts(point.long_description),
            "image_url": point.image_url,
            "media_list": [{"type": m.type.value, "url": m.url} for m in point.media_list] or None,
            "order": point.order,
            "is_enabled": point.enabled,
            "is_clan": point.is_clan,
        }
    )
    if Form(form) is Form.RESPONSE:
        document["type"] = "value_point"
        if can_delete is not None:
            document["can_delete"] = can_delete
    return document


def _load_point_list(data: object, path: str) -> ValuePointList:
    payload = structure(data, _ValuePointList, path)
    problems = Problems()
    points = [_point(p, f"{path}.items[{i}]", problems) for i, p in enumerate(payload.items)]
    problems.raise_if_any()
    return ValuePointList(points)


def _mapping_list(data: object, path: str, *, patch: bool) -> list[tuple[str, int]]:
    payload = structure(data, list[_Mapping], path)
    problems = Problems()
    if patch and len(payload) > 100:
        problems.add(path, "at most 100 items", len(payload))
    seen: dict[str, str] = {}
    pairs: list[tuple[str, int]] = []
    for index, item in enumerate(payload):
        at = f"{path}[{index}]"
        low = 0 if patch else 1
        if not low <= item.amount <= 2**31 - 1:
            problems.add(f"{at}.amount", f"an amount of {low} or more", item.amount)
        first = seen.setdefault(item.sku, at)
        if first != at:
            problems.add(f"{at}.sku", f"each item SKU once (also at {first})", item.sku)
        pairs.append((item.sku, item.amount))
    problems.raise_if_any()
    return pairs


def load_value_point_rewards(data: object, path: str = "$") -> tuple[ValuePointReward, ...]:
    """A value point's whole item mapping, LiveOps' PUT body `[{sku, amount}]` (amounts of 1
    or more, each SKU once)."""
    problems = Problems()
    built = [
        problems.build(ValuePointReward, {"sku": sku, "amount": amount}, f"{path}[{i}]", {})
        for i, (sku, amount) in enumerate(_mapping_list(data, path, patch=False))
    ]
    problems.raise_if_any()
    return tuple(r for r in built if r is not None)


def load_value_point_rewards_patch(data: object, path: str = "$") -> ValuePointRewardPatch:
    """LiveOps' PATCH of a value point's item mapping: at most 100 `{sku, amount}`, each SKU
    once, amounts of 0 or more (0 removes the item)."""
    pairs = _mapping_list(data, path, patch=True)
    problems = Problems()
    return finish(problems, problems.build(ValuePointRewardPatch, {"changes": pairs}, path, {}))


def _load_mapping_read(data: object, path: str) -> ValuePointRewardList:
    payload = structure(data, _MappingList, path)
    problems = Problems()
    built = [
        problems.build(
            ValuePointReward, {"sku": r.sku, "amount": r.amount}, f"{path}.items[{i}]", {}
        )
        for i, r in enumerate(payload.items)
    ]
    problems.raise_if_any()
    return ValuePointRewardList(built)


def _load_created_point(data: object, path: str) -> CreatedValuePoint:
    payload = structure(data, _CreatedPoint, path)
    problems = Problems()
    return finish(
        problems,
        problems.build(
            CreatedValuePoint, {"sku": payload.sku, "item_id": payload.item_id}, path, {}
        ),
    )


def _load_created_chain(data: object, path: str) -> CreatedRewardChain:
    payload = structure(data, _CreatedChain, path)
    problems = Problems()
    return finish(
        problems,
        problems.build(
            CreatedRewardChain,
            {"chain_id": payload.reward_chain_id},
            path,
            {"chain_id": "reward_chain_id"},
        ),
    )


# -- reward chains -------------------------------------------------------------------------

_CHAIN_NAMES = {
    "chain_id": "reward_chain_id",
    "enabled": "is_enabled",
    "conditions": "attribute_conditions",
    "always_visible": "is_always_visible",
    "value_point": "value_point.sku",
    "window": "date_start",
}


def _reward(payload: _Reward, path: str, problems: Problems, written: bool) -> ChainReward | None:
    if written and payload.quantity is None:
        problems.add(f"{path}.quantity", "a value (the field is required)", None)
        return None
    found = conditions(payload.attribute_conditions, f"{path}.attribute_conditions", problems)
    if any(c is None for c in found):
        return None
    return problems.build(
        ChainReward,
        {
            "sku": payload.sku,
            "quantity": 1 if payload.quantity is None else payload.quantity,
            "conditions": found,
        },
        path,
        {"conditions": "attribute_conditions"},
    )


def _step(
    payload: _Step, raw: object, path: str, problems: Problems, form: Form | None
) -> RewardChainStep | None:
    has_id = isinstance(raw, dict) and "step_id" in raw
    if form is Form.REQUEST and has_id:
        problems.add(f"{path}.step_id", "no step_id in a create body (the store gives it)", "one")
    if form is Form.UPDATE and not has_id:
        problems.add(
            f"{path}.step_id", "a value (the field is required; null for a new step)", "nothing"
        )
    if not 1 <= len(payload.reward) <= MAX_STEP_REWARDS:
        problems.add(f"{path}.reward", f"1 to {MAX_STEP_REWARDS} rewards", len(payload.reward))
        return None
    written = form in (Form.REQUEST, Form.UPDATE)
    rewards = [
        _reward(r, f"{path}.reward[{i}]", problems, written) for i, r in enumerate(payload.reward)
    ]
    if any(r is None for r in rewards):
        return None
    return problems.build(
        RewardChainStep,
        {
            "step_id": payload.step_id,
            "name": texts(payload.name),
            "price": payload.price.amount,
            "image_url": payload.image_url,
            "rewards": rewards,
        },
        path,
        {"price": "price.amount", "rewards": "reward"},
    )


def _clan(payload: _Chain, path: str, problems: Problems) -> ClanSettings | None:
    if payload.popup_header is None and payload.popup_instruction is None:
        for key in ("popup_image_url", "clan_type"):
            if getattr(payload, key) is not None:
                problems.add(
                    f"{path}.popup_header",
                    f"a value (a clan chain's field {key} needs its popups)",
                    None,
                )
        return None
    if payload.clan_type is not None and payload.clan_type not in _CLAN_TYPES:
        problems.add(
            f"{path}.clan_type", "a clan type (" + ", ".join(_CLAN_TYPES) + ")", payload.clan_type
        )
        return None
    return problems.build(
        ClanSettings,
        {
            "popup_header": texts(payload.popup_header),
            "popup_instruction": texts(payload.popup_instruction),
            "popup_image_url": payload.popup_image_url,
            "clan_type": payload.clan_type,
        },
        path,
        {},
    )


def _chain_fields(
    payload: _Chain, path: str, problems: Problems, form: Form | None
) -> dict[str, Any] | None:
    """The fields of a RewardChain (no steps, no chain id), or None if some part failed."""
    failed = len(problems.found)
    schedule = None
    if payload.recurrent_schedule is not None:
        at = f"{path}.recurrent_schedule"
        if form in (Form.REQUEST, Form.UPDATE):
            for key in READ_SCHEDULE:
                if getattr(payload.recurrent_schedule, key) is not None:
                    problems.add(f"{at}.{key}", "a field of the write form", "a response field")
        schedule = recurrent_schedule(payload.recurrent_schedule, at, problems)
    if form is Form.REQUEST and isinstance(payload.value_point, _ChainPoint):
        extra = [k for k in attrs.asdict(payload.value_point) if k != "sku"]
        for key in extra:
            if getattr(payload.value_point, key) is not None:
                problems.add(
                    f"{path}.value_point.{key}", "only the sku in a create body", "a read field"
                )
    found = conditions(payload.attribute_conditions, f"{path}.attribute_conditions", problems)
    values = {
        "name": texts(payload.name),
        "description": texts(payload.description),
        "long_description": texts(payload.long_description),
        "image_url": payload.image_url,
        "order": payload.order,
        "window": window(payload.date_start, payload.date_end, path, problems),
        "enabled": bool(payload.is_enabled),
        "value_point": None if payload.value_point is None else payload.value_point.sku,
        "recurrent_schedule": schedule,
        "conditions": found,
        "always_visible": True if payload.is_always_visible is None else payload.is_always_visible,
        "clan": _clan(payload, path, problems),
    }
    if len(problems.found) > failed:
        return None
    return values


def _steps(
    payload: _Chain, data: object, path: str, problems: Problems, form: Form | None
) -> list[RewardChainStep] | None:
    steps = payload.steps or []
    if not 1 <= len(steps) <= MAX_CHAIN_STEPS:
        if f"{path}.steps" not in {p.path for p in problems.found}:  # not reported missing
            problems.add(f"{path}.steps", f"1 to {MAX_CHAIN_STEPS} steps", len(steps))
        return None
    raw = data.get("steps") if isinstance(data, dict) else None
    built = [
        _step(s, raw[i] if isinstance(raw, list) else None, f"{path}.steps[{i}]", problems, form)
        for i, s in enumerate(steps)
    ]
    return None if any(s is None for s in built) else built  # type: ignore[return-value]


def _chain_payload(data: object, path: str, form: Form | str | None) -> tuple[_Chain, Problems]:
    which = None if form is None else form if form == _SUMMARY else Form(form)
    own = (
        _CHAIN_FIELDS[Form.RESPONSE] - {"steps"}
        if which == _SUMMARY
        else _CHAIN_FIELDS[which]
        if isinstance(which, Form)
        else _CHAIN_FIELDS[Form.RESPONSE]
    )
    every = _CHAIN_FIELDS[Form.RESPONSE]
    found = form_problems(data, path, own, every, f"a reward chain {which}" if which else "")
    if which == _SUMMARY and isinstance(data, dict) and "steps" in data:
        found.append(Problem(f"{path}.steps", "no steps (the admin list omits them)", "steps"))
    if isinstance(which, Form) and isinstance(data, dict):
        found.extend(
            Problem(f"{path}.{key}", "a value (the field is required)", "nothing")
            for key in _CHAIN_REQUIRED[which]
            if key not in data
        )
    elif which is None and isinstance(data, dict):
        found.extend(
            Problem(f"{path}.{key}", "a value (the field is required)", "nothing")
            for key in ("value_point", "steps")
            if key not in data
        )
    payload = structured(data, _Chain, path, found)
    problems = Problems()
    problems.found.extend(found)
    return payload, problems


def load_reward_chain(data: object, path: str = "$", form: Form | str | None = None) -> RewardChain:
    """A reward chain from its create body (`request`: `value_point: {sku}`, steps without
    `step_id`) or its admin read (`response`: `reward_chain_id`, step ids, the whole value
    point, read-only schedule fields and `top_contributors`, dropped); `form` None accepts
    either. A clan chain has `popup_header` and `popup_instruction`. For a PUT body use
    `load_reward_chain_update`."""
    if form is not None and Form(form) is Form.UPDATE:
        raise ValidationError.single("form", "request or response (see load_payload)", form)
    payload, problems = _chain_payload(data, path, form)
    which = None if form is None else Form(form)
    values = _chain_fields(payload, path, problems, which)
    steps = _steps(payload, data, path, problems, Form.REQUEST if which is Form.REQUEST else None)
    if values is None or steps is None or problems.found:
        problems.raise_if_any()
    chain = problems.build(
        RewardChain,
        {**values, "steps": steps, "chain_id": payload.reward_chain_id},  # type: ignore[dict-item]
        path,
        _CHAIN_NAMES,
    )
    return finish(problems, chain)


def load_reward_chain_update(data: object, path: str = "$") -> RewardChainUpdate:
    """A reward chain's PUT body: every step carries `step_id` (null for a new step); a
    `value_point` may be repeated (LiveOps' clan schema does) and must then be the chain's own
    (`RewardChainUpdate.apply` checks it)."""
    payload, problems = _chain_payload(data, path, Form.UPDATE)
    values = _chain_fields(payload, path, problems, Form.UPDATE)
    steps = _steps(payload, data, path, problems, Form.UPDATE)
    if values is None or steps is None or problems.found:
        problems.raise_if_any()
    update = problems.build(
        RewardChainUpdate,
        {**values, "steps": steps},  # type: ignore[dict-item]
        path,
        _CHAIN_NAMES,
    )
    return finish(problems, update)


def _summary(data: object, path: str) -> RewardChainSummary:
    payload, problems = _chain_payload(data, path, _SUMMARY)
    if payload.value_point is None:
        problems.add(f"{path}.value_point", "a value (the field is required)", None)
    values = _chain_fields(payload, path, problems, Form.RESPONSE)
    if values is None or problems.found:
        problems.raise_if_any()
    summary = problems.build(
        RewardChainSummary,
        {**values, "chain_id": payload.reward_chain_id},  # type: ignore[dict-item]
        path,
        _CHAIN_NAMES,
    )
    return finish(problems, summary)


def _load_chain_list(data: object, path: str) -> RewardChainPage:
    payload = structure(data, _ChainList, path)
    problems: list[Problem] = []
    found = []
    for index, item in enumerate(payload.items):
        try:
            found.append(_summary(item, f"{path}.items[{index}]"))
        except ValidationError as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationError(problems)
    return RewardChainPage(
        chains=found, has_more=payload.has_more, total_count=payload.total_items_count
    )


def _step_document(step: RewardChainStep, form: Form) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if form is not Form.REQUEST:
        document["step_id"] = step.step_id
    document.update(
        without_none(
            {
                "name": dict(step.name.pairs),
                "price": {"amount": step.price},
                "image_url": step.image_url,
            }
        )
    )
    document["reward"] = [
        {"sku": r.sku, "quantity": r.quantity}
        | ({"attribute_conditions": dump_conditions(r.conditions)} if r.conditions else {})
        for r in step.rewards
    ]
    return document


def _chain_document(
    chain: RewardChain | RewardChainSummary | RewardChainUpdate, form: Form, at: datetime | None
) -> dict[str, Any]:
    schedule: dict[str, Any] | None = None
    if chain.recurrent_schedule is not None:
        schedule = dump_schedule(chain.recurrent_schedule)
        if form is Form.RESPONSE and at is not None:
            from liveops_rules.schedule import read_form_fields

            schedule.update(read_form_fields(chain.recurrent_schedule, at))
    document: dict[str, Any] = {}
    if form is Form.RESPONSE and not isinstance(chain, RewardChainUpdate):
        document["reward_chain_id"] = chain.chain_id
    document.update(
        {
            "name": dict(chain.name.pairs),
            "description": dump_texts(chain.description),
            "long_description": dump_texts(chain.long_description),
            "image_url": chain.image_url,
            "order": chain.order,
            "date_start": moment_text(chain.window.start),
            "date_end": moment_text(chain.window.end),
            "is_enabled": chain.enabled,
        }
    )
    if chain.value_point is not None and (
        form is not Form.UPDATE or isinstance(chain, RewardChainUpdate)
    ):
        document["value_point"] = {"sku": chain.value_point}
    if not isinstance(chain, RewardChainSummary):
        document["steps"] = [_step_document(s, form) for s in chain.steps]
    document.update(
        {
            "recurrent_schedule": schedule,
            "attribute_conditions": dump_conditions(chain.conditions) or None,
            "is_always_visible": chain.always_visible,
        }
    )
    clan = chain.clan
    if clan is not None:
        document.update(
            {
                "popup_header": dict(clan.popup_header.pairs),
                "popup_instruction": dict(clan.popup_instruction.pairs),
                "popup_image_url": clan.popup_image_url,
                "clan_type": None if clan.clan_type is None else clan.clan_type.value,
            }
        )
    return without_none(document)


def dump_reward_chain(
    chain: RewardChain | RewardChainUpdate | RewardChainSummary,
    form: Form | str = Form.REQUEST,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A reward chain as LiveOps writes it: its create body (`request`: no ids), its PUT body
    (`update`: step ids, no value point; a RewardChainUpdate keeps the one it repeats) or its
    admin read (`response`: ids, and with `at` the schedule's `reset_*` fields). A
    RewardChainSummary is the admin list's item (no steps). Null fields and empty lists are
    left out."""
    form = Form(form)
    if isinstance(chain, RewardChainUpdate) and form is Form.RESPONSE:
        raise ValidationError.single("form", "request or update for a RewardChainUpdate", form)
    if isinstance(chain, RewardChain) and form is Form.REQUEST and chain.chain_id is not None:
        chain = attrs.evolve(chain, chain_id=None)
    return _chain_document(chain, form, at)


# -- what a player reads -------------------------------------------------------------------


def _reset_at(value: int) -> datetime:
    seconds = value / 1000 if value > _MS_THRESHOLD else value
    return datetime.fromtimestamp(seconds, UTC)


def _player_point(payload: _PlayerPoint, path: str, problems: Problems) -> PlayerValuePoint | None:
    return problems.build(
        PlayerValuePoint,
        {
            "sku": payload.sku,
            "name": payload.name,
            "image_url": payload.image_url,
            "description": payload.description,
            "long_description": payload.long_description,
            "amount": payload.amount,
            "is_clan": bool(payload.is_clan),
        },
        path,
        {},
    )


def _shown(payloads: Sequence[_ShownReward], path: str, problems: Problems) -> list[Any]:
    return [
        problems.build(
            RewardItem,
            {"sku": r.sku, "quantity": 1 if r.quantity is None else r.quantity},
            f"{path}[{i}]",
            {},
        )
        for i, r in enumerate(payloads)
    ]


def _contributors(
    payloads: Sequence[_Contributor], path: str, problems: Problems
) -> list[Contributor | None]:
    if len(payloads) > MAX_TOP_CONTRIBUTORS:
        problems.add(path, f"at most {MAX_TOP_CONTRIBUTORS} contributors", len(payloads))
    return [
        problems.build(
            Contributor,
            {"name": c.name, "amount": c.contributed_amount},
            f"{path}[{i}]",
            {"amount": "contributed_amount"},
        )
        for i, c in enumerate(payloads)
    ]


def _player_chain(payload: _PlayerChain, path: str, problems: Problems) -> PlayerChain | None:
    failed = len(problems.found)
    steps = [
        problems.build(
            PlayerChainStep,
            {
                "step_id": s.step_id,
                "name": s.name,
                "claimed": s.is_claimed,
                "image_url": s.image_url,
                "price": s.price.amount,
                "rewards": _shown(s.reward, f"{path}.steps[{i}].reward", problems),
            },
            f"{path}.steps[{i}]",
            {"claimed": "is_claimed", "price": "price.amount", "rewards": "reward"},
        )
        for i, s in enumerate(payload.steps)
    ]
    start = moment(payload.date_start, f"{path}.date_start", problems)
    end = (
        None if payload.date_end is None else moment(payload.date_end, f"{path}.date_end", problems)
    )
    schedule = payload.recurrent_schedule
    values = {
        "chain_id": payload.reward_chain_id,
        "name": payload.name,
        "description": payload.description,
        "long_description": payload.long_description,
        "image_url": payload.image_url,
        "order": payload.order,
        "window": problems.build(
            ValidityWindow, {"start": start, "end": end}, path, {"start": "date_start"}
        )
        if start is not None
        else None,
        "value_point": _player_point(payload.value_point, f"{path}.value_point", problems),
        "steps": steps,
        "reset_interval": None if schedule is None else schedule.interval_type,
        "reset_at": None if schedule is None else _reset_at(schedule.reset_next_date),
        "clan_type": payload.clan_type,
        "top_contributors": _contributors(
            payload.top_contributors or (), f"{path}.top_contributors", problems
        ),
        "popup_header": None if payload.popup_header is None else texts(payload.popup_header),
        "popup_instruction": None
        if payload.popup_instruction is None
        else texts(payload.popup_instruction),
        "popup_image_url": payload.popup_image_url,
    }
    if len(problems.found) > failed:
        return None
    return problems.build(
        PlayerChain,
        values,
        path,
        {
            "chain_id": "reward_chain_id",
            "window": "date_start",
            "reset_interval": "recurrent_schedule.interval_type",
            "reset_at": "recurrent_schedule.reset_next_date",
        },
    )


def _load_player_page(data: object, path: str) -> PlayerChainPage:
    payload = structure(data, _PlayerPage, path)
    problems = Problems()
    chains = [_player_chain(c, f"{path}.items[{i}]", problems) for i, c in enumerate(payload.items)]
    problems.raise_if_any()
    return PlayerChainPage(
        chains=chains, total_count=payload.total_items_count, has_more=payload.has_more
    )


def _load_balance(data: object, path: str) -> PlayerValuePoint:
    problems = Problems()
    return finish(problems, _player_point(structure(data, _PlayerPoint, path), path, problems))


def _load_top(data: object, path: str) -> TopContributors:
    problems = Problems()
    found = _contributors(structure(data, list[_Contributor], path), path, problems)
    problems.raise_if_any()
    return TopContributors(found)


def _load_clan_update(data: object, path: str) -> ClanUpdateAnswer:
    problems = Problems()
    found = _shown(structure(data, _ClanUpdate, path).reward, f"{path}.reward", problems)
    problems.raise_if_any()
    return ClanUpdateAnswer(found)


def player_chain(
    view: Any,
    user: User,
    point: ValuePoint,
    *,
    locale: str = "en",
    top_contributors: Iterable[tuple[str, int]] = (),
) -> PlayerChain:
    """The client view of a `ChainView` (from `RewardChains.player_chains`) for `user`: texts
    in `locale`, `point` (the chain's value point) with the view's balance, each step's
    rewards as `user` gets them, and (a clan chain) its popups and `top_contributors` (the
    `(name, amount)` pairs of `RewardChains.top_contributors`)."""
    from liveops_rules.chains import rules
    from liveops_rules.chains.reward import ChainView

    if not isinstance(view, ChainView):
        raise ValidationError.single("view", "a ChainView", view)
    chain = view.chain
    if point.sku != chain.value_point:
        raise ValidationError.single("point", f"the value point {chain.value_point}", point.sku)
    assert chain.chain_id is not None

    def text(name: LocalizedName) -> str | None:
        return name.best(locale) or None

    schedule = chain.recurrent_schedule
    clan = chain.clan
    return PlayerChain(
        chain_id=chain.chain_id,
        name=chain.name.best(locale),
        description=text(chain.description),
        long_description=text(chain.long_description),
        image_url=chain.image_url,
        order=chain.order,
        window=chain.window,
        value_point=PlayerValuePoint(
            sku=point.sku,
            name=point.name.best(locale),
            image_url=point.image_url,
            description=text(point.description),
            long_description=text(point.long_description),
            amount=view.balance,
            is_clan=point.is_clan,
        ),
        steps=[
            PlayerChainStep(
                step_id=cast(int, step.step_id),
                name=step.name.best(locale),
                claimed=step.step_id in view.claimed,
                image_url=step.image_url,
                price=step.price,
                rewards=rules.step_rewards(step, user),
            )
            for step in chain.steps
        ],
        reset_interval=None if schedule is None or view.reset_at is None else schedule.interval,
        reset_at=None if schedule is None else view.reset_at,
        clan_type=None if clan is None else clan.clan_type,
        top_contributors=[Contributor(name, amount) for name, amount in top_contributors],
        popup_header=None if clan is None else clan.popup_header,
        popup_instruction=None if clan is None else clan.popup_instruction,
        popup_image_url=None if clan is None else clan.popup_image_url,
    )


def player_chain_page(
    views: Sequence[Any],
    total: int,
    user: User,
    points: Mapping[str, ValuePoint] | Iterable[ValuePoint],
    *,
    offset: int = 0,
    locale: str = "en",
    top_contributors: Mapping[int, Iterable[tuple[str, int]]] | None = None,
) -> PlayerChainPage:
    """The `user/reward_chain` page of `RewardChains.player_chains(user, ...)`'s answer
    `(views, total)`, asked from `offset`: each view as `player_chain` makes it, `points` the
    store's value points (by SKU, or `RewardChains.value_points()`), `top_contributors` by
    chain id for clan chains. Dump it with `dump_payload`."""
    by_sku = dict(points) if isinstance(points, Mapping) else {point.sku: point for point in points}
    tops = top_contributors or {}
    chains = []
    for index, view in enumerate(views):
        sku = getattr(getattr(view, "chain", None), "value_point", None)
        point = by_sku.get(sku) if isinstance(sku, str) else None
        if point is None:
            raise ValidationError.single(f"views[{index}]", "a chain of one of `points`", sku)
        chain_id = view.chain.chain_id
        chains.append(
            player_chain(view, user, point, locale=locale, top_contributors=tops.get(chain_id, ()))
        )
    return PlayerChainPage(chains=chains, total_count=total, has_more=offset + len(views) < total)


def _dump_player_point(point: PlayerValuePoint) -> dict[str, Any]:
    return without_none(
        {
            "sku": point.sku,
            "name": point.name,
            "image_url": point.image_url,
            "description": point.description,
            "long_description": point.long_description,
            "amount": point.amount,
            "is_clan": point.is_clan,
        }
    )


def _dump_player_chain(chain: PlayerChain) -> dict[str, Any]:
    document = {
        "reward_chain_id": chain.chain_id,
        "name": chain.name,
        "description": chain.description,
        "long_description": chain.long_description,
        "image_url": chain.image_url,
        "order": chain.order,
        "date_start": moment_text(chain.window.start),
        "date_end": moment_text(chain.window.end),
        "value_point": _dump_player_point(chain.value_point),
        "clan_type": None if chain.clan_type is None else chain.clan_type.value,
        "top_contributors": [
            {"name": c.name, "contributed_amount": c.amount} for c in chain.top_contributors
        ],
        "steps": [
            without_none(
                {
                    "step_id": s.step_id,
                    "name": s.name,
                    "is_claimed": s.claimed,
                    "image_url": s.image_url,
                    "price": {"amount": s.price},
                    "reward": [{"sku": r.sku, "quantity": r.quantity} for r in s.rewards],
                }
            )
            for s in chain.steps
        ],
        "recurrent_schedule": None
        if chain.reset_interval is None or chain.reset_at is None
        else {
            "interval_type": chain.reset_interval.value,
            "reset_next_date": int(chain.reset_at.timestamp()),
        },
        "popup_header": None if chain.popup_header is None else dict(chain.popup_header.pairs),
        "popup_instruction": None
        if chain.popup_instruction is None
        else dict(chain.popup_instruction.pairs),
        "popup_image_url": chain.popup_image_url,
    }
    found = without_none(document)
    if chain.clan_type is None and not chain.top_contributors:
        del found["top_contributors"]
    return found


def _dump_player_page(page: PlayerChainPage) -> dict[str, Any]:
    return without_none(
        {
            "has_more": page.has_more,
            "total_items_count": page.total_count,
            "items": [_dump_player_chain(c) for c in page.chains],
        }
    )


CHAIN_LOADERS: dict[str, Callable[[object, str], Any]] = {
    "value_point_list": _load_point_list,
    "value_point_created": _load_created_point,
    "value_point_rewards": load_value_point_rewards,
    "value_point_rewards_patch": load_value_point_rewards_patch,
    "value_point_reward_list": _load_mapping_read,
    "reward_chain_list": _load_chain_list,
    "reward_chain_created": _load_created_chain,
    "user_reward_chain_list": _load_player_page,
    "reward_chain_balance": _load_balance,
    "clan_top_contributors": _load_top,
    "clan_update_response": _load_clan_update,
}
"""The chain payloads without forms, by name (`value_point` and `reward_chain` have forms)."""


def dump_chain_payload(value: object, form: Form | str = Form.REQUEST) -> Any:
    """The LiveOps JSON of a value point or reward chain model (in `form` where it has
    forms) or of an answer of `models.chain_answers`; NotImplemented for anything else."""
    if isinstance(value, ValuePoint):
        return dump_value_point(value, form)
    if isinstance(value, RewardChainUpdate):
        return dump_reward_chain(value, Form.UPDATE)
    if isinstance(value, RewardChain | RewardChainSummary):
        return dump_reward_chain(
            value, Form.RESPONSE if isinstance(value, RewardChainSummary) else form
        )
    if (
        isinstance(value, tuple | list)
        and value
        and all(isinstance(r, ValuePointReward) for r in value)
    ):
        return [{"sku": r.sku, "amount": r.amount} for r in value]
    if isinstance(value, ValuePointRewardPatch):
        return [{"sku": sku, "amount": amount} for sku, amount in value.changes]
    if isinstance(value, ValuePointRewardList):
        return {"items": [{"sku": r.sku, "amount": r.amount} for r in value.rewards]}
    if isinstance(value, ValuePointList):
        return {"items": [dump_value_point(p, Form.RESPONSE) for p in value.points]}
    if isinstance(value, CreatedValuePoint):
        return without_none({"sku": value.sku, "item_id": value.item_id})
    if isinstance(value, CreatedRewardChain):
        return {"reward_chain_id": value.chain_id}
    if isinstance(value, RewardChainPage):
        return without_none(
            {
                "has_more": value.has_more,
                "total_items_count": value.total_count,
                "items": [dump_reward_chain(c, Form.RESPONSE) for c in value.chains],
            }
        )
    if isinstance(value, PlayerChainPage):
        return _dump_player_page(value)
    if isinstance(value, PlayerChain):
        return _dump_player_chain(value)
    if isinstance(value, PlayerValuePoint):
        return _dump_player_point(value)
    if isinstance(value, TopContributors):
        return [{"name": c.name, "contributed_amount": c.amount} for c in value.contributors]
    if isinstance(value, ClanUpdateAnswer):
        return {"reward": [{"sku": r.sku, "quantity": r.quantity} for r in value.rewards]}
    return NotImplemented


# -- catalogs ------------------------------------------------------------------------------


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return to_tuple(value)


@attrs.frozen(kw_only=True)
class ChainCatalog:
    """The value points (with their item mappings), reward chains, daily chains and offer
    chains of a catalog file; empty for a catalog of promotions only."""

    value_points: tuple[ValuePoint, ...] = attrs.field(default=(), converter=_tuple)
    rewards: Mapping[str, tuple[ValuePointReward, ...]] = attrs.field(factory=dict)
    reward_chains: tuple[RewardChain, ...] = attrs.field(default=(), converter=_tuple)
    daily_chains: tuple[DailyChain, ...] = attrs.field(default=(), converter=_tuple)
    offer_chains: tuple[OfferChain, ...] = attrs.field(default=(), converter=_tuple)


def chain_sections(data: Mapping[str, Any], problems: list[Problem]) -> ChainCatalog:
    """The `value_points` (each may carry its mapping in `rewards: [{sku, amount}]`),
    `reward_chains`, `daily_chains` (each may carry its `day_zone` in `library_extensions`)
    and `offer_chains` lists of a catalog object (either form; a reward chain names a value
    point of the catalog, a clan chain a clan point; chain ids are unique in their list);
    problems are added to `problems`."""
    points: dict[str, ValuePoint] = {}
    rewards: dict[str, tuple[ValuePointReward, ...]] = {}
    chains: list[RewardChain] = []
    first: dict[str, str] = {}
    for index, item in enumerate(section(data, "value_points", problems)):
        path = f"$.value_points[{index}]"
        carried: object = None
        if isinstance(item, dict) and "rewards" in item:
            item = dict(item)
            carried = item.pop("rewards")
        try:
            point = load_value_point(item, path)
            mapping = (
                None if carried is None else load_value_point_rewards(carried, f"{path}.rewards")
            )
        except ValidationError as error:
            problems.extend(error.problems)
            continue
        seen = first.setdefault(point.sku, path)
        if seen != path:
            problems.append(
                Problem(
                    f"{path}.sku",
                    "a SKU not used before in value_points",
                    f"{point.sku!r}, already at {seen}",
                )
            )
            continue
        points[point.sku] = point
        if mapping is not None:
            rewards[point.sku] = mapping
    ids: dict[int, str] = {}
    for index, item in enumerate(section(data, "reward_chains", problems)):
        path = f"$.reward_chains[{index}]"
        try:
            chain = load_reward_chain(item, path)
        except ValidationError as error:
            problems.extend(error.problems)
            continue
        fed = points.get(chain.value_point)
        if fed is None:
            problems.append(
                Problem(
                    f"{path}.value_point.sku", "a value point of the catalog", chain.value_point
                )
            )
            continue
        if fed.is_clan != (chain.clan is not None):
            expected = (
                "clan popups (its value point is a clan's)"
                if fed.is_clan
                else "no clan popups (its value point is not a clan's)"
            )
            problems.append(
                Problem(f"{path}.popup_header", expected, "none" if fed.is_clan else "popups")
            )
            continue
        if chain.chain_id is not None:
            seen = ids.setdefault(chain.chain_id, path)
            if seen != path:
                problems.append(
                    Problem(
                        f"{path}.reward_chain_id",
                        "an id not used before in reward_chains",
                        f"{chain.chain_id}, already at {seen}",
                    )
                )
                continue
        chains.append(chain)
    return ChainCatalog(
        value_points=tuple(points.values()),
        rewards=rewards,
        reward_chains=chains,
        daily_chains=_ladder_section(
            data, "daily_chains", lambda d, at: load_daily_chain(d, at, extensions=True), problems
        ),
        offer_chains=_ladder_section(data, "offer_chains", load_offer_chain, problems),
    )


def _ladder_section(
    data: Mapping[str, Any],
    name: str,
    load: Callable[[object, str], DailyChain | OfferChain],
    problems: list[Problem],
) -> list[Any]:
    """The chains of a catalog's `daily_chains` or `offer_chains` list, each id once."""
    chains = []
    ids: dict[int, str] = {}
    for index, item in enumerate(section(data, name, problems)):
        path = f"$.{name}[{index}]"
        try:
            chain = load(item, path)
        except ValidationError as error:
            problems.extend(error.problems)
            continue
        if chain.chain_id is not None:
            seen = ids.setdefault(chain.chain_id, path)
            if seen != path:
                problems.append(
                    Problem(
                        f"{path}.id",
                        f"an id not used before in {name}",
                        f"{chain.chain_id}, already at {seen}",
                    )
                )
                continue
        chains.append(chain)
    return chains


def dump_chain_sections(catalog: ChainCatalog) -> dict[str, list[dict[str, Any]]]:
    """The `value_points` (with `rewards` where mapped), `reward_chains`, `daily_chains` (with
    `library_extensions` where a chain has a `day_zone`) and `offer_chains` lists of a
    catalog object (response forms; empty lists left out)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for point in catalog.value_points:
        entry = dump_value_point(point, Form.REQUEST)
        mapping = catalog.rewards.get(point.sku)
        if mapping:
            entry["rewards"] = [{"sku": r.sku, "amount": r.amount} for r in mapping]
        document.setdefault("value_points", []).append(entry)
    for chain in catalog.reward_chains:
        document.setdefault("reward_chains", []).append(dump_reward_chain(chain, Form.RESPONSE))
    for daily in catalog.daily_chains:
        document.setdefault("daily_chains", []).append(
            dump_daily_chain(daily, Form.RESPONSE, extensions=True)
        )
    for offer in catalog.offer_chains:
        document.setdefault("offer_chains", []).append(dump_offer_chain(offer, Form.RESPONSE))
    return document
