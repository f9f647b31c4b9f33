"""Promotion codes: what a valid code looks like, and an opt-in normalizer."""

from __future__ import annotations

import re

from liveops_rules.errors import ValidationError

__all__ = ["CODE_MAX_LENGTH", "is_valid_code", "normalize_code", "validate_code"]

CODE_MAX_LENGTH = 128
_CODE = re.compile(r"[A-Za-z0-9]{1,128}", re.ASCII)


def is_valid_code(text: object) -> bool:
    """Whether `text` is a LiveOps code: 1..128 Latin letters and digits (case-sensitive)."""
    return isinstance(text, str) and _CODE.fullmatch(text) is not None


def validate_code(text: object, path: str = "code") -> str:
    """`text` if it is a valid code, else a ValidationError at `path`."""
    if not is_valid_code(text):
        raise ValidationError.single(path, "a code of 1..128 Latin letters and digits", text)
    return text  # type: ignore[return-value]


def normalize_code(text: str) -> str:
    """Trim surrounding white space and upper-case: for backends that want codes typed by
    people to match case-insensitively. LiveOps itself compares codes case-sensitively."""
    return text.strip().upper()
