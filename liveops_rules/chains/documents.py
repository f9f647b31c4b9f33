"""How a store keeps chain configuration: each value point, its item mapping and each chain as
one JSON document, written and read back exactly (a library form, not LiveOps' wire form:
it carries what the models hold, zones and all)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from liveops_rules.models import (
    DateCondition,
    LocalizedName,
    NumberCondition,
    RecurrentSchedule,
    StringCondition,
    ValidityWindow,
)
from liveops_rules.models.chains import (
    ChainReward,
    ClanSettings,
    MediaItem,
    RewardChain,
    RewardChainStep,
    ValuePoint,
    ValuePointReward,
)
from liveops_rules.models.daily import DailyChain, DailyChainStep
from liveops_rules.models.offer import OfferChain, OfferChainStep, OfferItem
from liveops_rules.models.values import RewardItem

__all__ = [
    "dump_chain",
    "dump_daily_chain",
    "dump_offer_chain",
    "dump_rewards",
    "dump_value_point",
    "load_chain",
    "load_daily_chain",
    "load_offer_chain",
    "load_rewards",
    "load_value_point",
]

Condition = StringCondition | NumberCondition | DateCondition


def _json(document: dict[str, Any] | list[Any]) -> str:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _text(name: LocalizedName) -> dict[str, str]:
    return dict(name.pairs)


def _condition(condition: Condition) -> dict[str, Any]:
    value = condition.value
    if isinstance(value, datetime | date):
        shown: str = value.isoformat()
    else:
        shown = str(value)
    return {
        "attribute": condition.attribute,
        "type": condition.type_name,
        "operator": condition.operator.value,
        "value": shown,
        "can_be_missing": condition.can_be_missing,
    }


def _read_condition(data: dict[str, Any]) -> Condition:
    fields = {"can_be_missing": data["can_be_missing"]}
    if data["type"] == "string":
        return StringCondition(data["attribute"], data["operator"], data["value"], **fields)
    if data["type"] == "number":
        return NumberCondition(
            data["attribute"], data["operator"], Decimal(data["value"]), **fields
        )
    text = data["value"]
    moment: date | datetime = (
        datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    )
    return DateCondition(data["attribute"], data["operator"], moment, **fields)


def _schedule(schedule: RecurrentSchedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "interval": schedule.interval.value,
        "hour": schedule.hour,
        "utc_offset": int(schedule.utc_offset.total_seconds()),
        "day_of_week": schedule.day_of_week,
        "day_of_month": schedule.day_of_month,
        "zone": schedule.zone,
    }


def _read_schedule(data: dict[str, Any] | None) -> RecurrentSchedule | None:
    if data is None:
        return None
    return RecurrentSchedule(
        interval=data["interval"],
        hour=data["hour"],
        utc_offset=timedelta(seconds=data["utc_offset"]),
        day_of_week=data["day_of_week"],
        day_of_month=data["day_of_month"],
        zone=data["zone"],
    )


def _moment(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _read_moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def dump_value_point(point: ValuePoint) -> str:
    """A value point's document."""
    return _json(
        {
            "sku": point.sku,
            "name": _text(point.name),
            "description": _text(point.description),
            "long_description": _text(point.long_description),
            "image_url": point.image_url,
            "media_list": [{"type": m.type.value, "url": m.url} for m in point.media_list],
            "order": point.order,
            "enabled": point.enabled,
            "is_clan": point.is_clan,
        }
    )


def load_value_point(document: str) -> ValuePoint:
    """The value point a `dump_value_point` document holds."""
    data = json.loads(document)
    return ValuePoint(
        sku=data["sku"],
        name=data["name"],
        description=data["description"],
        long_description=data["long_description"],
        image_url=data["image_url"],
        media_list=tuple(MediaItem(m["type"], m["url"]) for m in data["media_list"]),
        order=data["order"],
        enabled=data["enabled"],
        is_clan=data["is_clan"],
    )


def dump_rewards(rewards: tuple[ValuePointReward, ...]) -> str:
    """The item mapping of one value point, sorted by SKU."""
    return _json([{"sku": r.sku, "amount": r.amount} for r in sorted(rewards, key=lambda r: r.sku)])


def load_rewards(document: str) -> tuple[ValuePointReward, ...]:
    """The mapping a `dump_rewards` document holds."""
    return tuple(ValuePointReward(r["sku"], r["amount"]) for r in json.loads(document))


def _step(step: RewardChainStep) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "name": _text(step.name),
        "price": step.price,
        "image_url": step.image_url,
        "rewards": [
            {
                "sku": r.sku,
                "quantity": r.quantity,
                "conditions": [_condition(c) for c in r.conditions],
            }
            for r in step.rewards
        ],
    }


def _read_step(data: dict[str, Any]) -> RewardChainStep:
    return RewardChainStep(
        step_id=data["step_id"],
        name=data["name"],
        price=data["price"],
        image_url=data["image_url"],
        rewards=tuple(
            ChainReward(r["sku"], r["quantity"], tuple(_read_condition(c) for c in r["conditions"]))
            for r in data["rewards"]
        ),
    )


def dump_chain(chain: RewardChain) -> str:
    """A reward chain's document."""
    clan = chain.clan
    return _json(
        {
            "chain_id": chain.chain_id,
            "name": _text(chain.name),
            "description": _text(chain.description),
            "long_description": _text(chain.long_description),
            "image_url": chain.image_url,
            "order": chain.order,
            "date_start": _moment(chain.window.start),
            "date_end": _moment(chain.window.end),
            "enabled": chain.enabled,
            "value_point": chain.value_point,
            "steps": [_step(step) for step in chain.steps],
            "recurrent_schedule": _schedule(chain.recurrent_schedule),
            "conditions": [_condition(c) for c in chain.conditions],
            "always_visible": chain.always_visible,
            "clan": None
            if clan is None
            else {
                "popup_header": _text(clan.popup_header),
                "popup_instruction": _text(clan.popup_instruction),
                "popup_image_url": clan.popup_image_url,
                "clan_type": None if clan.clan_type is None else clan.clan_type.value,
            },
        }
    )


def load_chain(document: str) -> RewardChain:
    """The reward chain a `dump_chain` document holds."""
    data = json.loads(document)
    clan = data["clan"]
    return RewardChain(
        chain_id=data["chain_id"],
        name=data["name"],
        description=data["description"],
        long_description=data["long_description"],
        image_url=data["image_url"],
        order=data["order"],
        window=ValidityWindow(_read_moment(data["date_start"]), _read_moment(data["date_end"])),
        enabled=data["enabled"],
        value_point=data["value_point"],
        steps=tuple(_read_step(step) for step in data["steps"]),
        recurrent_schedule=_read_schedule(data["recurrent_schedule"]),
        conditions=tuple(_read_condition(c) for c in data["conditions"]),
        always_visible=data["always_visible"],
        clan=None if clan is None else ClanSettings(**clan),
    )


def _window(chain: DailyChain | OfferChain) -> dict[str, Any]:
    return {"date_start": _moment(chain.window.start), "date_end": _moment(chain.window.end)}


def _read_window(data: dict[str, Any]) -> ValidityWindow:
    return ValidityWindow(_read_moment(data["date_start"]), _read_moment(data["date_end"]))


def dump_daily_chain(chain: DailyChain) -> dict[str, Any]:
    """A daily chain's part of its kind's configuration document."""
    return {
        "chain_id": chain.chain_id,
        "name": _text(chain.name),
        "description": _text(chain.description),
        "order": chain.order,
        **_window(chain),
        "enabled": chain.enabled,
        "type": chain.type.value,
        "recurrent": chain.recurrent,
        "day_zone": chain.day_zone,
        "steps": [
            {
                "step_id": step.step_id,
                "step_number": step.step_number,
                "items": [{"sku": i.sku, "quantity": i.quantity} for i in step.items],
            }
            for step in chain.steps
        ],
    }


def load_daily_chain(data: dict[str, Any]) -> DailyChain:
    """The daily chain `dump_daily_chain` wrote."""
    return DailyChain(
        chain_id=data["chain_id"],
        name=data["name"],
        description=data["description"],
        order=data["order"],
        window=_read_window(data),
        enabled=data["enabled"],
        type=data["type"],
        recurrent=data["recurrent"],
        day_zone=data["day_zone"],
        steps=tuple(
            DailyChainStep(
                step_id=step["step_id"],
                step_number=step["step_number"],
                items=tuple(RewardItem(i["sku"], i["quantity"]) for i in step["items"]),
            )
            for step in data["steps"]
        ),
    )


def dump_offer_chain(chain: OfferChain) -> dict[str, Any]:
    """An offer chain's part of its kind's configuration document."""
    return {
        "chain_id": chain.chain_id,
        "name": _text(chain.name),
        "description": _text(chain.description),
        "order": chain.order,
        **_window(chain),
        "enabled": chain.enabled,
        "recurrent_schedule": _schedule(chain.recurrent_schedule),
        "always_visible": chain.always_visible,
        "reset_on_completion": chain.reset_on_completion,
        "conditions": [_condition(c) for c in chain.conditions],
        "steps": [
            {
                "step_id": step.step_id,
                "step_number": step.step_number,
                "is_free": step.is_free,
                "items": [
                    {"sku": i.sku, "quantity": i.quantity, "order": i.order} for i in step.items
                ],
            }
            for step in chain.steps
        ],
    }


def load_offer_chain(data: dict[str, Any]) -> OfferChain:
    """The offer chain `dump_offer_chain` wrote."""
    return OfferChain(
        chain_id=data["chain_id"],
        name=data["name"],
        description=data["description"],
        order=data["order"],
        window=_read_window(data),
        enabled=data["enabled"],
        recurrent_schedule=_read_schedule(data["recurrent_schedule"]),
        always_visible=data["always_visible"],
        reset_on_completion=data["reset_on_completion"],
        conditions=[_read_condition(c) for c in data["conditions"]],
        steps=tuple(
            OfferChainStep(
                step_id=step["step_id"],
                step_number=step["step_number"],
                is_free=step["is_free"],
                items=[OfferItem(i["sku"], i["quantity"], i["order"]) for i in step["items"]],
            )
            for step in data["steps"]
        ),
    )
