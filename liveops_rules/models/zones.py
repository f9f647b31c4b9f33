"""The time zone names a model accepts: those every machine knows."""

from __future__ import annotations

import functools
import zoneinfo

__all__ = ["is_known_zone"]


@functools.cache
def _zone_names() -> frozenset[str]:
    # Every machine knows these (the tzdata package has them): not `localtime`, `posixrules`
    # or `right/...`, which only some systems' files have, and which may follow the machine.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def is_known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone every machine can load the same way."""
    return name in _zone_names()
