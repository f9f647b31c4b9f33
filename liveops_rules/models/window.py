"""When a promotion is active: one window (a start, inclusive, and an optional end,
exclusive), or several periods, as LiveOps' v3 `promotion_periods`."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from liveops_rules.errors import Problem, ValidationError
from liveops_rules.models._validate import aware, optional

__all__ = ["BETWEEN_PERIODS", "Period", "ValidityWindow"]

BETWEEN_PERIODS = 2
"""`ValidityWindow.position` of a moment after one period's end and before the next start."""


def _after_start(instance: Any, attribute: attrs.Attribute[Any], end: object) -> None:
    if end is not None and instance.start is not None and end <= instance.start:
        raise ValidationError.single(
            attribute.name, f"a moment after start {instance.start.isoformat()}", end
        )


@attrs.frozen
class Period:
    """One period of a promotion (LiveOps v3 `{date_from, date_until}`): `start <= at < end`;
    an end of None leaves it open (only a promotion's single period may be open)."""

    start: datetime = attrs.field(validator=aware)
    end: datetime | None = attrs.field(default=None, validator=[optional(aware), _after_start])


def _to_periods(value: Iterable[Period]) -> tuple[Period, ...]:
    if type(value) is tuple:  # the common case, () included: no ABC check
        return value
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]  # left for the validator to reject
    return tuple(value)


def _check_periods(
    instance: ValidityWindow, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, tuple):
        raise ValidationError.single(attribute.name, "a sequence of Periods", value)
    if not value:
        return
    problems = [
        Problem(f"periods[{i}]", "a Period", repr(p)[:100])
        for i, p in enumerate(value)
        if not isinstance(p, Period)
    ]
    if problems:
        raise ValidationError(problems)
    if len(value) == 1:
        raise ValidationError.single(
            attribute.name, "two or more periods (one is the window's start and end)", 1
        )
    for index, period in enumerate(value):
        if period.end is None:
            raise ValidationError.single(
                f"periods[{index}].end", "an end: only a single period may be open", None
            )
        if index and period.start < value[index - 1].end:
            raise ValidationError.single(
                f"periods[{index}].start",
                f"a start at or after the previous period's end {value[index - 1].end}",
                period.start,
            )
    if instance.start != value[0].start or instance.end != value[-1].end:
        raise ValidationError.single(
            "start", "the first period's start and the last period's end", instance.start
        )


@attrs.frozen
class ValidityWindow:
    """The time a promotion is active: `start <= at < end` (None leaves that side open) or,
    with `periods`, any of them (LiveOps v3); `start` and `end` are then the first period's
    start and the last one's end. `ValidityWindow.of_periods` builds either from periods.

    A single period is the plain window: `of_periods([Period(a, b)]) == ValidityWindow(a, b)`.
    """

    start: datetime | None = attrs.field(default=None, validator=optional(aware))
    end: datetime | None = attrs.field(default=None, validator=[optional(aware), _after_start])
    periods: tuple[Period, ...] = attrs.field(
        default=(), kw_only=True, converter=_to_periods, validator=_check_periods
    )
    """Two or more periods, sorted and not overlapping; empty for a single window."""
    _starts: tuple[datetime, ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False, order=False
    )

    def __attrs_post_init__(self) -> None:
        periods = self.periods
        object.__setattr__(self, "_starts", tuple([p.start for p in periods]) if periods else ())

    @classmethod
    def of_periods(cls, periods: Iterable[Period]) -> ValidityWindow:
        """The window of `periods` (in any order): none, an open window; one, its start and
        end; more, each of them. Raises ValidationError if they overlap or one is open."""
        found = _to_periods(periods)
        if not isinstance(found, tuple) or not all(isinstance(p, Period) for p in found):
            raise ValidationError.single("periods", "a sequence of Periods", periods)
        ordered = sorted(found, key=lambda p: p.start)
        if not ordered:
            return cls()
        if len(ordered) == 1:
            return cls(ordered[0].start, ordered[0].end)
        return cls(ordered[0].start, ordered[-1].end, periods=ordered)

    @property
    def all_periods(self) -> tuple[tuple[datetime | None, datetime | None], ...]:
        """Each period as (start, end): the periods, or the window's own start and end."""
        if self.periods:
            return tuple((p.start, p.end) for p in self.periods)
        return ((self.start, self.end),)

    def position(self, at: datetime) -> int:
        """-1 before the start, 0 inside the window (a period of it), 1 at or after the end,
        `BETWEEN_PERIODS` (2) after one period's end and before the next start."""
        if self.start is not None and at < self.start:
            return -1
        if self.end is not None and at >= self.end:
            return 1
        if self.periods:
            index = bisect.bisect_right(self._starts, at) - 1
            end = self.periods[index].end
            return BETWEEN_PERIODS if end is not None and at >= end else 0
        return 0

    def next_start(self, at: datetime) -> datetime | None:
        """The start of the first period that starts after `at`, or None."""
        if self.start is not None and at < self.start:
            return self.start
        index = bisect.bisect_right(self._starts, at)
        return self._starts[index] if index < len(self._starts) else None

    def last_end(self, at: datetime) -> datetime | None:
        """The end of the last period that ended at or before `at`, or None."""
        ended = [end for _, end in self.all_periods if end is not None and end <= at]
        return ended[-1] if ended else None

    def contains(self, at: datetime) -> bool:
        """Whether `at` is inside the window (one of its periods)."""
        return self.position(at) == 0
