"""Codes of promotions: add, generate, look up, usage."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from liveops_rules.accounting.core import AccountingCore
from liveops_rules.accounting.outcomes import AccountingError, Refusal, code_exists_error
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.codes import CODE_MAX_LENGTH
from liveops_rules.errors import ValidationError
from liveops_rules.models import Promotion
from liveops_rules.stores.bounds import check_count, check_stored_moment
from liveops_rules.stores.protocol import CounterState

__all__ = ["DEFAULT_CODE_ALPHABET", "CodeBook", "CodePage"]

DEFAULT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Upper-case letters and digits without the ones people confuse (0/O, 1/I/L)."""

_MAX_GENERATED = 100_000
_GENERATE_ROUNDS = 20


@attrs.frozen
class CodePage:
    """One page of a promotion's codes, and how many it has in all (LiveOps' `total_count`)."""

    codes: tuple[str, ...]
    total_count: int


class CodeBook(AccountingCore):
    """The codes of the store's promotions."""

    def code_promotion(self, code: str) -> Steps[Promotion | Refusal]:
        """The promotion that owns `code` (normalized as redeem does), or why there is none:
        a Refusal `malformed_code`, `unknown_code` or `unknown_promotion`."""
        if not isinstance(code, str):
            raise ValidationError.single("code", "a string", code)
        code = self._code(code)
        self._owners.pop(code, None)  # a lookup reads the store: codes can move
        _, _, found, refusal = yield from self._resolve(code, None)
        if refusal is not None:
            assert refusal.refusal is not None
            return refusal.refusal
        assert found is not None
        return found

    def add_codes(self, promotion: Promotion | str, codes: Sequence[str]) -> Steps[None]:
        """Give `codes` to `promotion` (imported first if the store lacks it);
        AccountingError `code_exists` (9803) if any is taken, `no_codes` if the promotion's
        kind has none.

        Codes are checked first: a malformed or repeated code is a ValidationError and
        nothing is added. Codes already taken are not added; the others are.
        """
        normalized = self._valid_codes(codes)
        ref = yield from self._require(promotion)
        self._check_code_kind((yield from self._stored(ref)))
        taken = yield call("add_codes", ref, normalized)
        if taken:
            raise code_exists_error(list(taken))

    def generate_codes(
        self,
        promotion: Promotion | str,
        count: int,
        *,
        length: int = 12,
        alphabet: str = DEFAULT_CODE_ALPHABET,
        progress: Callable[[int], None] | None = None,
    ) -> Steps[list[str]]:
        """Make `count` (1..100,000) new random codes for `promotion`, unique in the store.

        Codes come from `secrets`. The alphabet must be Latin letters and digits; the space
        of possible codes must be at least 1,000 times `count` so that collisions stay rare.
        When the codes already in the store leave too little room (20 rounds in a row find no
        new code), AccountingError `code_space_full` says so; the codes made so far stay.
        """
        check_count(count, "count", 1, _MAX_GENERATED)
        check_count(length, "length", 1, CODE_MAX_LENGTH)
        letters = set(string.ascii_letters + string.digits)
        if not isinstance(alphabet, str) or len(set(alphabet)) < 2 or not set(alphabet) <= letters:
            raise ValidationError.single(
                "alphabet", "two or more Latin letters and digits", alphabet
            )
        symbols = sorted(set(alphabet))
        space = len(symbols) ** length
        if space < count * 1000:
            raise ValidationError.single(
                "length", f"a length giving at least {count * 1000} possible codes", length
            )
        ref = yield from self._require(promotion)
        self._check_code_kind((yield from self._stored(ref)))
        made: list[str] = []
        barren = 0
        while len(made) < count:
            batch: set[str] = set()
            wanted = min(count - len(made), 10_000)
            while len(batch) < wanted:  # the space holds >= 1,000 x count codes: ends quickly
                batch.add("".join(secrets.choice(symbols) for _ in range(length)))
            ordered = sorted(batch)
            taken = set((yield call("add_codes", ref, ordered)))
            fresh = [code for code in ordered if code not in taken]
            made.extend(fresh)
            barren = 0 if fresh else barren + 1
            if barren >= _GENERATE_ROUNDS:
                raise AccountingError(
                    "code_space_full",
                    f"made {len(made)} of {count} codes: {_GENERATE_ROUNDS} rounds in a row found "
                    f"only codes already taken among the {space} codes of length {length} over "
                    f"{''.join(symbols)!r}; use a longer length or a larger alphabet",
                )
            if progress is not None:
                progress(len(made))
        return made

    def code_usage(
        self, promotion: Promotion | str, at: datetime, codes: Sequence[str] | None = None
    ) -> Steps[dict[str, CounterState]]:
        """Each code of the promotion (or each of `codes`) with its counter (used, reserved);
        AccountingError `unknown_code` (9811) for a code that is not the promotion's."""
        check_stored_moment(at)
        ref = yield from self._require(promotion)
        if codes is None:
            wanted = yield call("codes", ref)
        else:
            wanted = self._valid_codes(codes)
            owners = yield call("code_owners", wanted)
            strangers = [code for code in wanted if owners.get(code) != ref]
            if strangers:
                raise AccountingError(
                    "unknown_code", f"Code not found in {ref}: {', '.join(strangers[:5])}"
                )
        usage = {}
        for code in wanted:
            usage[code] = yield call("counter", f"c|{ref}|{code}", at)
        return usage

    def list_codes(
        self, promotion: Promotion | str, *, limit: int | None = None, offset: int = 0
    ) -> Steps[CodePage]:
        """The promotion's codes, sorted: `limit` of them from `offset`, and how many it has."""
        if limit is not None:
            check_count(limit, "limit", 1)
        check_count(offset, "offset", 0)
        ref = yield from self._require(promotion)
        codes = yield call("codes", ref, offset, limit)
        return CodePage(tuple(codes), (yield call("code_count", ref)))

    def remove_codes(self, promotion: Promotion | str, codes: Sequence[str]) -> Steps[None]:
        """Take codes from a promotion (they may then be given to another); their counters
        and ledger lines stay. AccountingError `unknown_code` (9811), nothing removed, if any
        is not the promotion's."""
        normalized = self._valid_codes(codes)
        ref = yield from self._require(promotion)
        owners = yield call("code_owners", normalized)
        strangers = [code for code in normalized if owners.get(code) != ref]
        if strangers:
            raise AccountingError(
                "unknown_code", f"Code not found in {ref}: {', '.join(strangers[:5])}"
            )
        for code in normalized:  # forgotten first: a cancelled removal may still be applied
            self._owners.pop(code, None)
        yield call("remove_codes", ref, normalized)
