"""Promotion limits: how often a user may use a promotion, and when that count resets."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import instance_of, int_in, optional
from liveops_rules.models.zones import is_known_zone

__all__ = ["IntervalType", "PromotionLimits", "RecurrentSchedule"]


class IntervalType(enum.StrEnum):
    """How often a recurrent per-user limit resets."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def _to_interval(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, IntervalType):
        try:
            return IntervalType(value)
        except ValueError:
            pass
    return value


def _check_offset(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    limit = timedelta(hours=23, minutes=59)
    if (
        not isinstance(value, timedelta)
        or value.seconds % 60
        or value.microseconds
        or not -limit <= value <= limit
    ):
        raise ValidationError.single(
            attribute.name, "a whole-minute UTC offset within ±23:59", value
        )


def _day_fields_match(
    instance: RecurrentSchedule, _attribute: attrs.Attribute[Any], _value: object
) -> None:
    weekly = instance.interval is IntervalType.WEEKLY
    monthly = instance.interval is IntervalType.MONTHLY
    if weekly != (instance.day_of_week is not None):
        raise ValidationError.single(
            "day_of_week",
            "a day of week 1..7 (Monday = 1) for weekly resets only",
            instance.day_of_week,
        )
    if monthly != (instance.day_of_month is not None):
        raise ValidationError.single(
            "day_of_month", "a day of month 1..31 for monthly resets only", instance.day_of_month
        )


def _check_zone(
    instance: RecurrentSchedule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, str):
        raise ValidationError.single(attribute.name, "an IANA time zone name", value)
    if not is_known_zone(value):
        raise ValidationError.single(attribute.name, "a known IANA time zone name", value)
    if instance.utc_offset:
        raise ValidationError.single(
            "utc_offset", "no fixed offset when a time zone is given", instance.utc_offset
        )


@attrs.frozen
class RecurrentSchedule:
    """When a per-user limit resets: daily, weekly or monthly, on the hour, at a UTC offset.

    A `day_of_month` past a month's end means that month's last day.
    """

    interval: IntervalType = attrs.field(
        converter=_to_interval,
        validator=instance_of(IntervalType, "one of daily, weekly, monthly"),
    )
    hour: int = attrs.field(default=0, validator=int_in(0, 23))
    utc_offset: timedelta = attrs.field(factory=timedelta, validator=_check_offset)
    day_of_week: int | None = attrs.field(default=None, validator=optional(int_in(1, 7)))
    day_of_month: int | None = attrs.field(
        default=None, validator=[optional(int_in(1, 31)), _day_fields_match]
    )
    zone: str | None = attrs.field(default=None, validator=optional(_check_zone))
    """An IANA time zone (`Europe/Berlin`) instead of the fixed `utc_offset`, following its
    daylight saving changes; a library extension: LiveOps payloads carry only offsets."""


@attrs.frozen
class PromotionLimits:
    """A promotion's per-user limit (None: unlimited) and its optional recurrent reset."""

    per_user: int | None = attrs.field(default=None, validator=optional(int_in(1)))
    recurrent_schedule: RecurrentSchedule | None = attrs.field(
        default=None, validator=optional(instance_of(RecurrentSchedule, "a RecurrentSchedule"))
    )
