"""Store URIs made safe to print: the passwords they carry replaced by `***`.

Works on any text (an error message quoting a URI, a malformed URI) and never raises: a
password is found structurally (`scheme://user:PASSWORD@host`, `password=...` options), also
when it holds an unescaped `@`, `/`, `?` or `#`. A password holding whitespace is only found
in a `password='...'` option.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["REDACTED", "redact_message", "redact_uri", "uri_passwords"]

REDACTED = "***"
"""What a password is printed as."""

# a scheme starts where a run of scheme characters does, so that matching stays linear
_SCHEME = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z0-9+.\-]*://")
_TOKEN = re.compile(r"\S+")
_PASSWORD_OPTION = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'?|[^&#;\s]*)", re.IGNORECASE)


def _userinfo_passwords(token: str, offset: int) -> list[tuple[int, int]]:
    """The spans of the passwords of the URIs in `token` (text without whitespace)."""
    spans = []
    # the last @, not the first: a password may hold a raw @ or / (drivers then misread it,
    # and their messages quote it); a path or query with an @ is only redacted too much
    at = token.rfind("@")
    for scheme in _SCHEME.finditer(token, 0, max(at, 0)):
        start = scheme.end()
        if token.startswith("/", start):  # no authority: `sqlite:///path`
            continue
        colon = token.find(":", start, at)
        if colon >= 0 and colon + 1 < at:
            spans.append((offset + colon + 1, offset + at))
    return spans


def _password_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for token in _TOKEN.finditer(text):
        if "://" in token.group():
            spans.extend(_userinfo_passwords(token.group(), token.start()))
    spans.extend(m.span(1) for m in _PASSWORD_OPTION.finditer(text) if m.group(1))
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def uri_passwords(text: str) -> list[str]:
    """The passwords written in `text` (a URI, or a message quoting URIs), as written."""
    if not isinstance(text, str):
        return []
    return [text[begin:end] for begin, end in _password_spans(text)]


def redact_uri(uri: str) -> str:
    """`uri` (or any text quoting URIs) with every password replaced by `***`:
    `postgresql://postgres:s3cret@host/db` → `postgresql://postgres:***@host/db`."""
    if not isinstance(uri, str):
        return REDACTED
    pieces: list[str] = []
    kept = 0
    for begin, end in _password_spans(uri):
        pieces.extend((uri[kept:begin], REDACTED))
        kept = end
    pieces.append(uri[kept:])
    return "".join(pieces)


def redact_message(message: str, *uris: str) -> str:
    """`message` with every password written in `uris` (as written and percent-decoded) and
    every password of a URI it quotes replaced by `***`: for a driver's message about a URI,
    which may quote its password in pieces of its own."""
    found: set[str] = set()
    for uri in uris:
        for password in uri_passwords(uri):
            found.update((password, unquote(password)))
    message = redact_uri(message)
    for password in sorted((p for p in found if p), key=len, reverse=True):
        message = message.replace(password, REDACTED)
        # a ValidationError's `found` value is cut at 60 characters, maybe inside a password
        for end in range(min(len(password) - 1, 60), 0, -1):
            message = message.replace(password[:end] + "...", REDACTED + "...")
    return message
