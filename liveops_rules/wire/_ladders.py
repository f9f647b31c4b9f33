"""LiveOps JSON ↔ daily chains and offer chains: their admin bodies (create, update), their
admin reads, the admin lists and the created answers.

Loading is strict as for reward chains: exact JSON types, unknown fields refused, each form's
own fields only, every problem with its JSON path. Item descriptions LiveOps adds to reads
(`item_id`, `name`, `type`, ...) and an offer chain step's `step_price` are accepted and read
past. A body is refused in this order, one kind of refusal at a time as LiveOps answers: its
shape and values (ValidationError, LiveOps' 1102, every problem at once); in an update, a body
`id` other than the path's (ChainConfigError 6205); its dates (6204: a date not RFC 3339 with
`T` and an offset, or an end not after the start); then the chain's own rules, which the
models check (6203 too many steps, 6301 too many items in a step, 6302 step numbers not
1..N, 6207 a step id twice), each with its `extended` payload (LiveOps'
`errorMessageExtended`, without the `project_id` and `chain_id` only a server knows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from liveops_rules.errors import ChainConfigError, Problem, ValidationError, describe
from liveops_rules.models._validate import build
from liveops_rules.models.daily import DailyChain, DailyChainStep
from liveops_rules.models.ladder_answers import (
    CreatedDailyChain,
    CreatedOfferChain,
    DailyChainPage,
    OfferChainPage,
    OfferChainSummary,
)
from liveops_rules.models.offer import OfferChain, OfferChainStep, OfferItem
from liveops_rules.models.values import RewardItem
from liveops_rules.models.window import ValidityWindow
from liveops_rules.wire._chain_common import (
    READ_SCHEDULE,
    dump_texts,
    finish,
    form_problems,
    missing_problems,
    structured,
    texts_at,
    without_none,
)
from liveops_rules.wire._converter import structure
from liveops_rules.wire._document_names import LIBRARY_EXTENSIONS
from liveops_rules.wire._dump import dump_conditions, dump_schedule, moment_text
from liveops_rules.wire._forms import Form
from liveops_rules.wire._payloads import (
    AnyJson,
    AttributeConditionPayload,
    JsonBool,
    JsonInt,
    JsonNumber,
    JsonStr,
    LocaleTexts,
    SchedulePayload,
)
from liveops_rules.wire._translate import Problems, conditions, moment, recurrent_schedule

__all__ = [
    "DAY_ZONE_EXTENSION",
    "LADDER_LOADERS",
    "LIBRARY_EXTENSIONS",
    "dump_daily_chain",
    "dump_ladder_payload",
    "dump_offer_chain",
    "load_daily_chain",
    "load_daily_chain_update",
    "load_offer_chain",
    "load_offer_chain_update",
]

T = TypeVar("T")

DAY_ZONE_EXTENSION = "day_zone"
"""The extension holding a daily chain's `day_zone` (an IANA zone; not LiveOps')."""

_STEP_INDEX = re.compile(r"steps\[(\d+)\]")


# -- payload classes (structure and JSON types only) ---------------------------------------


@attrs.frozen(kw_only=True)
class _DailyItem:
    sku: JsonStr
    quantity: JsonInt | None = None
    item_id: AnyJson | None = None
    name: AnyJson | None = None
    type: AnyJson | None = None
    description: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _DailyStep:
    step_number: JsonInt
    items: list[_DailyItem]
    step_id: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _Daily:
    name: LocaleTexts
    date_start: JsonStr
    type: JsonStr
    steps: list[_DailyStep]
    id: JsonInt | None = None
    description: LocaleTexts | None = None
    order: JsonInt | None = None
    date_end: JsonStr | None = None
    is_enabled: JsonBool | None = None
    is_recurrent: JsonBool | None = None
    number_of_steps: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _OfferItem:
    sku: JsonStr
    quantity: JsonInt | None = None
    order: JsonInt | None = None
    item_id: AnyJson | None = None
    type: AnyJson | None = None
    name: AnyJson | None = None
    description: AnyJson | None = None
    image_url: AnyJson | None = None
    is_free: AnyJson | None = None


@attrs.frozen(kw_only=True)
class _StepPrice:
    amount: JsonNumber
    currency: JsonStr


@attrs.frozen(kw_only=True)
class _OfferStep:
    step_number: JsonInt
    is_free: JsonBool
    items: list[_OfferItem]
    step_id: JsonInt | None = None
    step_price: _StepPrice | None = None


@attrs.frozen(kw_only=True)
class _Offer:
    name: LocaleTexts
    date_start: JsonStr
    steps: list[_OfferStep] | None = None
    id: JsonInt | None = None
    description: LocaleTexts | None = None
    order: JsonInt | None = None
    date_end: JsonStr | None = None
    is_enabled: JsonBool | None = None
    recurrent_schedule: SchedulePayload | None = None
    is_always_visible: JsonBool | None = None
    is_reset_on_completion: JsonBool | None = None
    attribute_conditions: list[AttributeConditionPayload] | None = None


@attrs.frozen(kw_only=True)
class _List:
    items: list[AnyJson]
    has_more: JsonBool | None = None
    total_items_count: JsonInt | None = None


@attrs.frozen(kw_only=True)
class _CreatedDaily:
    daily_chain_id: JsonInt


@attrs.frozen(kw_only=True)
class _CreatedOffer:
    offer_chain_id: JsonInt


# -- the fields of each form ---------------------------------------------------------------

_SUMMARY = "summary"  # the offer chain admin list's item: a read without steps
_WRITE = (Form.REQUEST, Form.UPDATE)

_DAILY_COMMON = frozenset(
    (
        "name",
        "description",
        "order",
        "date_start",
        "date_end",
        "is_enabled",
        "type",
        "is_recurrent",
        "steps",
    )
)
_DAILY_FIELDS: dict[Form, frozenset[str]] = {
    Form.REQUEST: _DAILY_COMMON,
    Form.UPDATE: _DAILY_COMMON | {"id"},
    Form.RESPONSE: _DAILY_COMMON | {"id", "number_of_steps"},
}
_DAILY_REQUIRED = ("name", "date_start", "is_enabled", "type", "steps")
_DAILY_ITEM_READ = ("item_id", "name", "type", "description")
_DAILY_NAMES = {
    "chain_id": "id",
    "enabled": "is_enabled",
    "recurrent": "is_recurrent",
    "window": "date_start",
    "day_zone": f"{LIBRARY_EXTENSIONS}.{DAY_ZONE_EXTENSION}",
}

_OFFER_COMMON = frozenset(
    (
        "name",
        "description",
        "order",
        "date_start",
        "date_end",
        "is_enabled",
        "recurrent_schedule",
        "is_always_visible",
        "is_reset_on_completion",
        "attribute_conditions",
    )
)
_OFFER_FIELDS: dict[Form | str, frozenset[str]] = {
    Form.REQUEST: _OFFER_COMMON | {"steps"},
    Form.UPDATE: _OFFER_COMMON | {"steps", "id"},
    Form.RESPONSE: _OFFER_COMMON | {"steps", "id"},
    _SUMMARY: _OFFER_COMMON | {"id"},
}
_OFFER_REQUIRED: dict[Form | str | None, tuple[str, ...]] = {
    Form.REQUEST: ("name", "date_start", "is_enabled", "steps"),
    Form.UPDATE: ("name", "date_start", "is_enabled", "steps"),
    Form.RESPONSE: ("steps",),
    None: ("steps",),
    _SUMMARY: (),
}
_OFFER_ITEM_READ = ("item_id", "type", "name", "description", "image_url", "is_free")
_OFFER_NAMES = {
    "chain_id": "id",
    "enabled": "is_enabled",
    "window": "date_start",
    "always_visible": "is_always_visible",
    "reset_on_completion": "is_reset_on_completion",
    "conditions": "attribute_conditions",
}


def _form_of(form: Form | str | None) -> Form | None:
    return None if form is None else Form(form)


def _read_fields(
    raw: object, path: str, keys: Sequence[str], problems: Problems, what: str
) -> None:
    """Read-only `keys` of an object of a write form, each a problem."""
    if isinstance(raw, dict):
        for key in keys:
            if key in raw:
                problems.add(f"{path}.{key}", f"a field of the read form ({what})", raw[key])


def _raw_list(data: object, key: str) -> list[Any]:
    found = data.get(key) if isinstance(data, dict) else None
    return found if isinstance(found, list) else []


def _raw_at(values: list[Any], index: int) -> object:
    return values[index] if index < len(values) else None


def _step_ids(
    raw: object, path: str, form: Form | None, step_id: int | None, problems: Problems
) -> None:
    if form is Form.REQUEST and isinstance(raw, dict) and "step_id" in raw:
        problems.add(f"{path}.step_id", "no step_id in a create body (the store gives it)", step_id)


# -- dates (LiveOps' 6204) -----------------------------------------------------------------


def _date(text: str) -> datetime | None:
    """An RFC 3339 date-time with `T` and an offset, or None."""
    if text[10:11] not in ("T", "t"):
        return None
    return moment(text, "$", Problems())


def _window(start: str, end: str | None, path: str) -> ValidityWindow:
    """`date_start` and `date_end` as a window; ChainConfigError 6204 when one is not an
    RFC 3339 date-time or the end is not after the start."""
    start_at = _date(start)
    end_at = None if end is None else _date(end)
    bad = {"date_start": start} if start_at is None else {}
    if end is not None and end_at is None:
        bad["date_end"] = end
    if bad:
        raise ChainConfigError(
            6204,
            [
                Problem(
                    f"{path}.{key}",
                    "a date-time with T and an offset, like 2026-01-31T18:00:00+03:00",
                    describe(text),
                )
                for key, text in bad.items()
            ],
            {"invalid_format_dates": bad},
        )
    assert start_at is not None
    if end is not None and end_at is not None and end_at <= start_at:
        raise ChainConfigError.of(
            6204,
            f"{path}.date_end",
            f"an end after date_start {start}",
            end,
            {"invalid_periods": [{"start": start, "end": end}]},
        )
    return ValidityWindow(start_at, end_at)


def _same_id(body_id: int | None, url_id: int | None, path: str) -> None:
    """ChainConfigError 6205 when a body's `id` is not its path's."""
    if url_id is not None and body_id is not None and body_id != url_id:
        raise ChainConfigError.of(
            6205,
            f"{path}.id",
            f"the chain id of the path, {url_id}",
            body_id,
            {"url_chain_id": url_id, "body_chain_id": body_id},
        )


def _url_id(chain_id: object) -> int:
    if type(chain_id) is not int or chain_id < 1:
        raise ValidationError.single("chain_id", "a chain id of 1 or more", chain_id)
    return chain_id


# -- building the chain models -------------------------------------------------------------


def _json_path(path: str, names: dict[str, str], order: Sequence[int]) -> str:
    """A model's path as a JSON path relative to the chain: field names as LiveOps spells
    them, and a step by its place in the JSON (the model keeps steps sorted by number)."""
    match = _STEP_INDEX.match(path)
    if match is not None:
        index = int(match.group(1))
        if index < len(order):
            return f"steps[{order[index]}]{path[match.end() :]}"
        return path
    head = re.match(r"[^.\[]*", path)
    name = head.group(0) if head else path
    return names.get(name, name) + path[len(name) :]


def _renamed(
    error: ValidationError, path: str, names: dict[str, str], order: Sequence[int]
) -> ValidationError:
    problems = [attrs.evolve(p, path=_json_path(p.path, names, order)) for p in error.problems]
    if isinstance(error, ChainConfigError):
        return ChainConfigError(error.error_code, problems, error.extended).prefixed(path)
    return ValidationError(problems).prefixed(path)


def _construct(
    cls: type[T], values: dict[str, Any], path: str, names: dict[str, str], order: Sequence[int]
) -> T:
    """The chain model; its problems at JSON paths. A ChainConfigError of the model comes
    through (code and payload kept) when it is all that is wrong; with other problems they
    are reported together, as a ValidationError."""
    try:
        return build(cls, values)
    except ValidationError as error:
        found = error
    try:
        cls(**values)
    except ChainConfigError as coded:
        if {p.path for p in found.problems} <= {p.path for p in coded.problems}:
            raise _renamed(coded, path, names, order) from None
    except ValidationError:
        pass
    raise _renamed(found, path, names, order) from None


def _step_order(numbers: Sequence[int]) -> list[int]:
    """For each step of the model (sorted by number), its index in the JSON."""
    return sorted(range(len(numbers)), key=lambda i: numbers[i])


# -- daily chains --------------------------------------------------------------------------


def _extensions(
    data: object, path: str, extensions: bool
) -> tuple[object, str | None, list[Problem]]:
    """`data` without its `library_extensions` (read when `extensions`), the `day_zone` they
    carry, and their problems."""
    if not extensions or not isinstance(data, dict) or LIBRARY_EXTENSIONS not in data:
        return data, None, []
    data = dict(data)
    found = data.pop(LIBRARY_EXTENSIONS)
    at = f"{path}.{LIBRARY_EXTENSIONS}"
    if not isinstance(found, dict):
        return data, None, [Problem(at, "an object", describe(found))]
    problems = [
        Problem(f"{at}.{key}", f"a known extension ({DAY_ZONE_EXTENSION})", "an unknown one")
        for key in found
        if key != DAY_ZONE_EXTENSION
    ]
    zone = found.get(DAY_ZONE_EXTENSION)
    if zone is not None and not isinstance(zone, str):
        problems.append(
            Problem(f"{at}.{DAY_ZONE_EXTENSION}", "an IANA time zone name", describe(zone))
        )
        zone = None
    return data, zone, problems


def _daily_step(
    payload: _DailyStep, raw: object, path: str, problems: Problems, form: Form | None
) -> DailyChainStep | None:
    _step_ids(raw, path, form, payload.step_id, problems)
    raw_items = _raw_list(raw, "items")
    items: list[Any] = []
    for index, item in enumerate(payload.items):
        at = f"{path}.items[{index}]"
        if form in _WRITE:
            _read_fields(_raw_at(raw_items, index), at, _DAILY_ITEM_READ, problems, "an item")
            if item.quantity is None:
                problems.add(f"{at}.quantity", "a value (the field is required)", None)
                items.append(None)
                continue
        quantity = 1 if item.quantity is None else item.quantity
        items.append(problems.build(RewardItem, {"sku": item.sku, "quantity": quantity}, at, {}))
    if any(i is None for i in items):
        return None
    return problems.build(
        DailyChainStep,
        {"step_id": payload.step_id, "step_number": payload.step_number, "items": items},
        path,
        {},
    )


def _load_daily(
    data: object, path: str, form: Form | str | None, extensions: bool, url_id: int | None
) -> DailyChain:
    which = _form_of(form)
    data, zone, found = _extensions(data, path, extensions)
    own = _DAILY_FIELDS[which] if which is not None else _DAILY_FIELDS[Form.RESPONSE]
    what = f"a daily chain {which.value}" if which is not None else "a daily chain"
    found += form_problems(data, path, own, _DAILY_FIELDS[Form.RESPONSE], what)
    if which in _WRITE:
        found += missing_problems(data, path, ("is_enabled",))
    payload = structured(data, _Daily, path, found)
    problems = Problems()
    problems.found.extend(found)
    raw_steps = _raw_list(data, "steps")
    steps = [
        _daily_step(s, _raw_at(raw_steps, i), f"{path}.steps[{i}]", problems, which)
        for i, s in enumerate(payload.steps)
    ]
    if payload.number_of_steps is not None and payload.number_of_steps != len(payload.steps):
        problems.add(
            f"{path}.number_of_steps",
            f"the number of steps, {len(payload.steps)}",
            payload.number_of_steps,
        )
    name = texts_at(payload.name, f"{path}.name", problems)
    description = texts_at(payload.description, f"{path}.description", problems)
    problems.raise_if_any()
    _same_id(payload.id, url_id, path)
    window = _window(payload.date_start, payload.date_end, path)
    values = {
        "chain_id": url_id if url_id is not None else payload.id,
        "name": name,
        "description": description,
        "order": payload.order,
        "window": window,
        "enabled": bool(payload.is_enabled),
        "type": payload.type,
        "recurrent": bool(payload.is_recurrent),
        "steps": steps,
        "day_zone": zone,
    }
    order = _step_order([s.step_number for s in payload.steps])
    return _construct(DailyChain, values, path, _DAILY_NAMES, order)


def load_daily_chain(
    data: object, path: str = "$", form: Form | str | None = None, *, extensions: bool = False
) -> DailyChain:
    """A daily chain from its admin create body (`request`: no ids), PUT body (`update`:
    `id` and step ids, each optional; see `load_daily_chain_update`) or admin read
    (`response`: `id`, step ids, `number_of_steps`, which must count the steps, and the
    items' descriptions, read past); `form` None accepts any of them.

    `day_zone` is the library's, not LiveOps': with `extensions` a `library_extensions:
    {day_zone}` object is read too (catalogs use it). Raises ValidationError listing every
    problem at its JSON path, or a ChainConfigError with LiveOps' code (see the module)."""
    return _load_daily(data, path, form, extensions, None)


def load_daily_chain_update(data: object, chain_id: int, path: str = "$") -> DailyChain:
    """The daily chain a PUT body makes of the chain `chain_id` of its path: the body's `id`,
    when present, must be that id (else ChainConfigError 6205 with `{url_chain_id,
    body_chain_id}`); steps with a `step_id` are the chain's steps kept, steps without one
    are new. The chain returned carries `chain_id`."""
    return _load_daily(data, path, Form.UPDATE, False, _url_id(chain_id))


def dump_daily_chain(
    chain: DailyChain, form: Form | str = Form.REQUEST, *, extensions: bool = False
) -> dict[str, Any]:
    """A daily chain as LiveOps writes it: its create body (`request`: no ids), its PUT body
    (`update`: `id` and step ids where known) or its admin read (`response`: ids and
    `number_of_steps`). Null fields are left out. `day_zone` is not LiveOps' and is left out,
    unless `extensions` asks for it in `library_extensions` (see `load_daily_chain`)."""
    form = Form(form)
    ids = form is not Form.REQUEST
    document: dict[str, Any] = without_none(
        {
            "id": chain.chain_id if ids else None,
            "name": dict(chain.name.pairs),
            "description": dump_texts(chain.description),
            "order": chain.order,
            "date_start": moment_text(chain.window.start),
            "date_end": moment_text(chain.window.end),
            "is_enabled": chain.enabled,
            "type": chain.type.value,
            "is_recurrent": chain.recurrent,
            "number_of_steps": len(chain.steps) if form is Form.RESPONSE else None,
        }
    )
    document["steps"] = [
        without_none(
            {
                "step_id": step.step_id if ids else None,
                "step_number": step.step_number,
                "items": [{"sku": i.sku, "quantity": i.quantity} for i in step.items],
            }
        )
        for step in chain.steps
    ]
    if extensions and chain.day_zone is not None:
        document[LIBRARY_EXTENSIONS] = {DAY_ZONE_EXTENSION: chain.day_zone}
    return document


def _load_daily_list(data: object, path: str) -> DailyChainPage:
    payload = structure(data, _List, path)
    chains = _each(
        payload.items,
        path,
        lambda item, at: _load_daily(item, at, Form.RESPONSE, False, None),
    )
    return DailyChainPage(
        chains=chains, has_more=payload.has_more, total_count=payload.total_items_count
    )


def _each(items: Sequence[object], path: str, load: Callable[[object, str], T]) -> list[T]:
    """Each item of a list loaded; the problems of all of them raised together (one item's
    ChainConfigError alone, as it is, when it is the only one)."""
    found: list[T] = []
    errors: list[ValidationError] = []
    for index, item in enumerate(items):
        try:
            found.append(load(item, f"{path}.items[{index}]"))
        except ValidationError as error:
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationError(p for e in errors for p in e.problems)
    return found


def _load_created_daily(data: object, path: str) -> CreatedDailyChain:
    payload = structure(data, _CreatedDaily, path)
    problems = Problems()
    return finish(
        problems,
        problems.build(
            CreatedDailyChain,
            {"chain_id": payload.daily_chain_id},
            path,
            {"chain_id": "daily_chain_id"},
        ),
    )


# -- offer chains --------------------------------------------------------------------------


def _offer_step(
    payload: _OfferStep, raw: object, path: str, problems: Problems, form: Form | None
) -> OfferChainStep | None:
    _step_ids(raw, path, form, payload.step_id, problems)
    if form in _WRITE:
        _read_fields(raw, path, ("step_price",), problems, "a step")
    raw_items = _raw_list(raw, "items")
    items: list[Any] = []
    for index, item in enumerate(payload.items):
        at = f"{path}.items[{index}]"
        if form in _WRITE:
            _read_fields(_raw_at(raw_items, index), at, _OFFER_ITEM_READ, problems, "an item")
            if item.quantity is None:
                problems.add(f"{at}.quantity", "a value (the field is required)", None)
                items.append(None)
                continue
        quantity = 1 if item.quantity is None else item.quantity
        items.append(
            problems.build(
                OfferItem, {"sku": item.sku, "quantity": quantity, "order": item.order}, at, {}
            )
        )
    if any(i is None for i in items):
        return None
    return problems.build(
        OfferChainStep,
        {
            "step_id": payload.step_id,
            "step_number": payload.step_number,
            "is_free": payload.is_free,
            "items": items,
        },
        path,
        {},
    )


def _offer_payload(data: object, path: str, which: Form | str | None) -> tuple[_Offer, Problems]:
    own = _OFFER_FIELDS[which] if which is not None else _OFFER_FIELDS[Form.RESPONSE]
    every = _OFFER_FIELDS[Form.RESPONSE]
    if which == _SUMMARY:
        every = every - {"steps"}  # refused below, with its own reason
    what = "an offer chain " + ("list item" if which == _SUMMARY else str(which or ""))
    found = form_problems(data, path, own, every, what.strip())
    if which == _SUMMARY and isinstance(data, dict) and "steps" in data:
        found.append(Problem(f"{path}.steps", "no steps (the admin list omits them)", "steps"))
    found += missing_problems(data, path, _OFFER_REQUIRED[which])
    payload = structured(data, _Offer, path, found)
    problems = Problems()
    problems.found.extend(found)
    return payload, problems


def _offer_fields(
    payload: _Offer, path: str, problems: Problems, which: Form | str | None
) -> dict[str, Any]:
    """The fields of an offer chain but its steps, chain id and window."""
    schedule = None
    if payload.recurrent_schedule is not None:
        at = f"{path}.recurrent_schedule"
        if which in _WRITE:
            for key in READ_SCHEDULE:
                if getattr(payload.recurrent_schedule, key) is not None:
                    problems.add(f"{at}.{key}", "a field of the write form", "a response field")
        schedule = recurrent_schedule(payload.recurrent_schedule, at, problems)
    found = conditions(payload.attribute_conditions, f"{path}.attribute_conditions", problems)
    return {
        "name": texts_at(payload.name, f"{path}.name", problems),
        "description": texts_at(payload.description, f"{path}.description", problems),
        "order": payload.order,
        "enabled": bool(payload.is_enabled),
        "recurrent_schedule": schedule,
        "always_visible": True if payload.is_always_visible is None else payload.is_always_visible,
        "reset_on_completion": bool(payload.is_reset_on_completion),
        "conditions": tuple(c for c in found if c is not None),
    }


def _load_offer(data: object, path: str, form: Form | str | None, url_id: int | None) -> OfferChain:
    which = _form_of(form)
    payload, problems = _offer_payload(data, path, which)
    values = _offer_fields(payload, path, problems, which)
    raw_steps = _raw_list(data, "steps")
    payload_steps = payload.steps or []
    steps = [
        _offer_step(s, _raw_at(raw_steps, i), f"{path}.steps[{i}]", problems, which)
        for i, s in enumerate(payload_steps)
    ]
    problems.raise_if_any()
    _same_id(payload.id, url_id, path)
    values["window"] = _window(payload.date_start, payload.date_end, path)
    values["chain_id"] = url_id if url_id is not None else payload.id
    values["steps"] = steps
    order = _step_order([s.step_number for s in payload_steps])
    return _construct(OfferChain, values, path, _OFFER_NAMES, order)


def load_offer_chain(data: object, path: str = "$", form: Form | str | None = None) -> OfferChain:
    """An offer chain from its admin create body (`request`, `create-offer-chain-model`: no
    ids), PUT body (`update`, `modify-offer-chain-model`: `id` and step ids, each optional;
    see `load_offer_chain_update`) or admin read (`response`, `admin-offer-chain-long-model`:
    ids, the schedule's `reset_*` fields, each step's `step_price` and the items'
    descriptions, read past); `form` None accepts any of them. The live fields
    `is_always_visible`, `is_reset_on_completion` and `attribute_conditions` are read in
    every form. Raises ValidationError listing every problem at its JSON path, or a
    ChainConfigError with LiveOps' code (see the module)."""
    return _load_offer(data, path, form, None)


def load_offer_chain_update(data: object, chain_id: int, path: str = "$") -> OfferChain:
    """The offer chain a PUT body makes of the chain `chain_id` of its path: the body's `id`,
    when present, must be that id (else ChainConfigError 6205 with `{url_chain_id,
    body_chain_id}`); steps with a `step_id` keep their progress, steps without one are
    new. The chain returned carries `chain_id`."""
    return _load_offer(data, path, Form.UPDATE, _url_id(chain_id))


def _offer_summary(data: object, path: str) -> OfferChainSummary:
    payload, problems = _offer_payload(data, path, _SUMMARY)
    values = _offer_fields(payload, path, problems, Form.RESPONSE)
    problems.raise_if_any()
    values["window"] = _window(payload.date_start, payload.date_end, path)
    values["chain_id"] = payload.id
    return _construct(OfferChainSummary, values, path, _OFFER_NAMES, ())


def _load_offer_list(data: object, path: str) -> OfferChainPage:
    payload = structure(data, _List, path)
    chains = _each(payload.items, path, _offer_summary)
    return OfferChainPage(
        chains=chains, has_more=payload.has_more, total_count=payload.total_items_count
    )


def _load_created_offer(data: object, path: str) -> CreatedOfferChain:
    payload = structure(data, _CreatedOffer, path)
    problems = Problems()
    return finish(
        problems,
        problems.build(
            CreatedOfferChain,
            {"chain_id": payload.offer_chain_id},
            path,
            {"chain_id": "offer_chain_id"},
        ),
    )


def dump_offer_chain(
    chain: OfferChain | OfferChainSummary,
    form: Form | str = Form.REQUEST,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An offer chain as LiveOps writes it: its create body (`request`: no ids), its PUT body
    (`update`: `id` and step ids where known) or its admin read (`response`: ids, each
    step's `step_price` as null, the library knowing no item prices, and with `at` the
    schedule's `reset_*` fields). An OfferChainSummary is the admin list's item (no steps).
    Null fields are left out, and the live fields `is_always_visible`,
    `is_reset_on_completion` and `attribute_conditions` when they hold their defaults."""
    form = Form(form)
    ids = form is not Form.REQUEST
    schedule: dict[str, Any] | None = None
    if chain.recurrent_schedule is not None:
        if chain.recurrent_schedule.zone is not None:
            raise ValidationError.single(
                "recurrent_schedule.zone",
                "a fixed UTC offset: LiveOps payloads carry no time zone names",
                chain.recurrent_schedule.zone,
            )
        schedule = dump_schedule(chain.recurrent_schedule)
        if form is Form.RESPONSE and at is not None:
            from liveops_rules.schedule import read_form_fields

            schedule.update(read_form_fields(chain.recurrent_schedule, at))
    document: dict[str, Any] = without_none(
        {
            "id": chain.chain_id if ids else None,
            "name": dict(chain.name.pairs),
            "description": dump_texts(chain.description),
            "order": chain.order,
            "date_start": moment_text(chain.window.start),
            "date_end": moment_text(chain.window.end),
            "is_enabled": chain.enabled,
            "recurrent_schedule": schedule,
        }
    )
    if isinstance(chain, OfferChain):
        document["steps"] = [_offer_step_document(step, form) for step in chain.steps]
    if not chain.always_visible:
        document["is_always_visible"] = False
    if chain.reset_on_completion:
        document["is_reset_on_completion"] = True
    if chain.conditions:
        document["attribute_conditions"] = dump_conditions(chain.conditions)
    return document


def _offer_step_document(step: OfferChainStep, form: Form) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if form is not Form.REQUEST and step.step_id is not None:
        document["step_id"] = step.step_id
    document["step_number"] = step.step_number
    document["is_free"] = step.is_free
    if form is Form.RESPONSE:
        document["step_price"] = None
    document["items"] = [
        without_none({"sku": i.sku, "quantity": i.quantity, "order": i.order}) for i in step.items
    ]
    return document


# -- every payload -------------------------------------------------------------------------

LADDER_LOADERS: dict[str, Callable[[object, str], Any]] = {
    "daily_chain_list": _load_daily_list,
    "daily_chain_created": _load_created_daily,
    "offer_chain_list": _load_offer_list,
    "offer_chain_created": _load_created_offer,
}
"""The daily and offer chain payloads without forms, by name (`daily_chain` and
`offer_chain` have forms)."""


def _page(
    chains: Sequence[Any], has_more: bool | None, total: int | None, dump: Callable[[Any], Any]
) -> dict[str, Any]:
    return without_none(
        {
            "has_more": has_more,
            "total_items_count": total,
            "items": [dump(chain) for chain in chains],
        }
    )


def dump_ladder_payload(value: object, form: Form | str = Form.REQUEST) -> Any:
    """The LiveOps JSON of a daily or offer chain (in `form`), an offer chain summary, a page
    of the admin lists or a created answer; NotImplemented for anything else."""
    if isinstance(value, DailyChain):
        return dump_daily_chain(value, form)
    if isinstance(value, OfferChain):
        return dump_offer_chain(value, form)
    if isinstance(value, OfferChainSummary):
        return dump_offer_chain(value, Form.RESPONSE)
    if isinstance(value, DailyChainPage):
        return _page(
            value.chains,
            value.has_more,
            value.total_count,
            lambda c: dump_daily_chain(c, Form.RESPONSE),
        )
    if isinstance(value, OfferChainPage):
        return _page(
            value.chains,
            value.has_more,
            value.total_count,
            lambda c: dump_offer_chain(c, Form.RESPONSE),
        )
    if isinstance(value, CreatedDailyChain):
        return {"daily_chain_id": value.chain_id}
    if isinstance(value, CreatedOfferChain):
        return {"offer_chain_id": value.chain_id}
    return NotImplemented
