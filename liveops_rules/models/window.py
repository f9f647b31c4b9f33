"""When a promotion is active: a start (inclusive) and an optional end (exclusive)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from liveops_rules.errors import ValidationError
from liveops_rules.models._validate import aware, optional

__all__ = ["ValidityWindow"]


def _after_start(instance: ValidityWindow, attribute: attrs.Attribute[Any], end: object) -> None:
    if end is not None and instance.start is not None and end <= instance.start:  # type: ignore[operator]
        raise ValidationError.single(
            attribute.name, f"a moment after start {instance.start.isoformat()}", end
        )


@attrs.frozen
class ValidityWindow:
    """The time a promotion is active: `start <= at < end`; None leaves that side open."""

    start: datetime | None = attrs.field(default=None, validator=optional(aware))
    end: datetime | None = attrs.field(default=None, validator=[optional(aware), _after_start])

    def position(self, at: datetime) -> int:
        """-1 before the start, 0 inside the window, 1 at or after the end."""
        if self.start is not None and at < self.start:
            return -1
        if self.end is not None and at >= self.end:
            return 1
        return 0

    def contains(self, at: datetime) -> bool:
        """Whether `at` is inside the window."""
        return self.position(at) == 0
