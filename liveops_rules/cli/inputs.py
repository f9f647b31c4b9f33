"""What the command line accepts and how it prints safely: argument types that refuse bad
values up front (argparse turns their complaints into exit status 2), bounded reading of
input files, and messages with no password and no unprintable text in them."""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from liveops_rules.errors import Problem, ValidationError
from liveops_rules.redaction import redact_message, redact_uri
from liveops_rules.wire import parse_json

__all__ = [
    "LIMIT_MAX",
    "MAX_FILE_BYTES",
    "MAX_HOLD_SECONDS",
    "Scrubber",
    "amount_argument",
    "hold_argument",
    "moment_argument",
    "printable",
    "read_input_file",
    "store_argument",
    "text_argument",
    "whole_argument",
]

LIMIT_MAX = 2**31 - 1
"""The largest limit amount LiveOps keeps (a 32-bit integer)."""

MAX_HOLD_SECONDS = 10 * 365 * 24 * 3600
"""The longest `--hold` a checkout accepts: 10 years of 365 days."""

MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest input file read; `/dev/zero` or a runaway file is refused, not read forever."""


def printable(text: str) -> str:
    """`text` with lone surrogates (undecodable bytes of a file name, `"\\ud800"` in JSON)
    written as `\\udcff` escapes, so that printing it cannot fail."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# C0 and C1 controls but newline and tab, and the invisible characters that reorder or hide
# text (bidirectional overrides, zero-width spaces): a message echoing them could rewrite the
# terminal (`\x1b[2J`) or show something else than it says
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_argument(text: str) -> str:
    """An argument used as data (an id, a code, a key): valid Unicode text."""
    if not _is_unicode(text):
        raise argparse.ArgumentTypeError(
            f"expected valid UTF-8 text, found {printable(repr(text[:60]))} (undecodable bytes)"
        )
    return text


def store_argument(text: str) -> str:
    """A store URI: valid Unicode text (open_store checks the rest)."""
    if not _is_unicode(text):
        raise argparse.ArgumentTypeError(
            f"expected valid UTF-8 text, found {printable(repr(redact_uri(text)))}"
        )
    return text


def whole_argument(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""

    def whole(text: str) -> int:
        expected = f"a whole number from {low} to {high}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {expected}, found {printable(repr(text[:40]))}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {expected}, found {value}")
        return value

    return whole


def amount_argument(minimum: int) -> Callable[[str], int]:
    """A whole number from `minimum` to LIMIT_MAX."""
    return whole_argument(minimum, LIMIT_MAX)


def hold_argument(text: str) -> timedelta:
    """A hold: a positive, finite number of seconds, at most MAX_HOLD_SECONDS."""
    expected = f"seconds, more than 0 and at most {MAX_HOLD_SECONDS} (10 years)"
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {expected}, found {printable(repr(text[:40]))}"
        ) from None
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_HOLD_SECONDS):
        raise argparse.ArgumentTypeError(f"expected {expected}, found {text[:40]}")
    hold = timedelta(seconds=seconds)
    if not hold:
        raise argparse.ArgumentTypeError(
            f"expected {expected}, found {text[:40]} (less than a microsecond)"
        )
    return hold


def moment_argument(text: str) -> datetime:
    """`now`, or an ISO 8601 date-time with a UTC offset, whose UTC moment is a datetime."""
    if text == "now":
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date-time such as 2026-11-28T12:00:00+00:00, or now;"
            f" found {printable(repr(text[:60]))}"
        ) from None
    if at.utcoffset() is None:
        suggestion = at.replace(tzinfo=UTC).isoformat()
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add one, like {suggestion}")
    try:
        at.astimezone(UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the years 1 to 9999 once converted to UTC"
        ) from None
    return at


def _surrogate_problems(data: object) -> Iterator[Problem]:
    """Where a parsed JSON document holds text that is not valid Unicode."""
    pending: list[tuple[str, object]] = [("$", data)]
    while pending:  # parse_json bounds the nesting, so this ends
        path, value = pending.pop()
        if isinstance(value, str) and not _is_unicode(value):
            yield Problem(path, "valid Unicode text", "a lone surrogate (like \\ud800)")
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{printable(key)}"
                if not _is_unicode(key):
                    yield Problem(where, "a key of valid Unicode text", "a lone surrogate")
                pending.append((where, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _utf8_text(content: bytes) -> str | None:
    """`content` as text when it is strict UTF-8 (as `json` would read it), else None."""
    if json.detect_encoding(content) != "utf-8":
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_input_file(path: str) -> object:
    """A JSON input file, parsed strictly; a ValidationError (path `$...`) if it cannot be
    read, is larger than MAX_FILE_BYTES, is not JSON or holds text that is not Unicode."""
    try:
        with open(path, "rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ValidationError.single(
            "file", "a readable file", error.strerror or type(error).__name__
        ) from None
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError.single("file", f"at most {MAX_FILE_BYTES} bytes", "a larger file")
    # Strict UTF-8 encodes no lone surrogate, so such a file can hold one only as a
    # `\uD800`-`\uDFFF` escape: found at C speed, sparing most files the walk by value.
    text = _utf8_text(content)
    data = parse_json(content if text is None else text)
    if text is None or _SURROGATE_ESCAPE.search(text) is not None:
        problems = sorted(_surrogate_problems(data), key=lambda problem: problem.path)
        if problems:
            raise ValidationError(problems)
    return data


class Scrubber:
    """Takes out of a message every password written in the command's arguments, as written
    and percent-decoded, so that no library or driver message can print one."""

    def __init__(self, arguments: Iterable[str]) -> None:
        self._arguments = tuple(arguments)

    def __call__(self, message: str) -> str:
        """`message` without passwords, lone surrogates and terminal controls."""
        message = redact_message(message, *self._arguments)
        return _HIDDEN.sub(_escaped, printable(message))
