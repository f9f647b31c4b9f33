"""Per-user limits as LiveOps administers them: show, set, change and reset."""

from __future__ import annotations

from datetime import datetime

from liveops_rules.accounting.core import AccountingCore, is_promotion_ref
from liveops_rules.accounting.outcomes import AccountingError
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.models import Promotion, User
from liveops_rules.models.requests import UserLimitState
from liveops_rules.stores.bounds import COUNT_MAX, check_stored_moment, check_text
from liveops_rules.stores.protocol import CounterSpec, CounterState

__all__ = ["LimitAdmin"]


class LimitAdmin(AccountingCore):
    """A user's remaining uses of a promotion, read and changed by an administrator."""

    def _user_limit_spec(
        self, promotion: Promotion | str, user_id: str, at: datetime
    ) -> Steps[CounterSpec]:
        check_stored_moment(at)
        check_text(user_id, "user_id")
        ref = yield from self._require(promotion)
        found = yield from self._stored(ref)
        specs = [
            s for s in self._counters(found, ref, User(user_id), None, at) if s.key.startswith("u|")
        ]
        if not specs:
            raise AccountingError(
                "no_user_limits", "Promotion does not have configured user limits."
            )
        return specs[0]

    @staticmethod
    def _state(spec: CounterSpec, state: CounterState | None) -> UserLimitState:
        if state is None:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        assert spec.limit is not None
        return UserLimitState(
            total=spec.limit + state.extra,
            available=max(0, spec.limit + state.extra - state.used - state.reserved),
        )

    def user_limit(
        self, promotion: Promotion | str, user_id: str, at: datetime
    ) -> Steps[UserLimitState]:
        """The user's `total` uses and `available` ones in the current period."""
        spec = yield from self._user_limit_spec(promotion, user_id, at)
        return self._state(spec, (yield call("counter", spec.key, at)))

    def set_user_limit(
        self, promotion: Promotion | str, user_id: str, available: int, at: datetime
    ) -> Steps[UserLimitState]:
        """Make `available` uses remain for the user (0..2**31-1, and the total it makes at
        most 2**31-1: `limit_out_of_range` (4511) otherwise, nothing changed)."""
        if type(available) is not int or not 0 <= available <= COUNT_MAX:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        spec = yield from self._user_limit_spec(promotion, user_id, at)
        assert spec.limit is not None
        return self._state(spec, (yield call("adjust", spec.key, spec.limit, available, at)))

    def change_user_limit(
        self, promotion: Promotion | str, user_id: str, change: int, at: datetime
    ) -> Steps[UserLimitState]:
        """Increase (change > 0) or decrease (< 0) the user's available uses; a change that
        would take them below zero or the total past 2**31-1 is refused with
        `limit_out_of_range` (4511) and changes nothing."""
        if type(change) is not int or not -COUNT_MAX <= change <= COUNT_MAX or change == 0:
            raise AccountingError(
                "limit_out_of_range", "Available promotion limit is out of range."
            )
        spec = yield from self._user_limit_spec(promotion, user_id, at)
        assert spec.limit is not None
        return self._state(spec, (yield call("add_extra", spec.key, spec.limit, change, at)))

    def reset_user_limit(
        self, promotion: Promotion | str, user_id: str, at: datetime
    ) -> Steps[int]:
        """Give the user back every use of the promotion (all periods). Holds in flight are
        forgiven too: they can still be committed or released, but no longer count against
        the user's limit, and a later refund of a use made before the reset gives nothing
        back twice."""
        spec = yield from self._user_limit_spec(promotion, user_id, at)
        prefix = spec.key[: spec.key.rindex("|") + 1]
        changed: int = yield call("reset", prefix, at)
        return changed

    def reset_all_user_limits(self, promotion: Promotion | str, at: datetime) -> Steps[int]:
        """Give every user back every use of the promotion (as `reset_user_limit`)."""
        spec = yield from self._user_limit_spec(promotion, "-", at)
        ref = spec.key.split("|")[1]
        changed: int = yield call("reset", f"u|{ref}|", at)
        return changed

    def reset_limits_of_user(self, user_id: str, at: datetime) -> Steps[int]:
        """Give the user back every use of every promotion with a per-user limit (LiveOps'
        reset of all of a user's promotion limits); returns how many counters changed."""
        check_stored_moment(at)
        check_text(user_id, "user_id")
        changed = 0
        for ref in (yield call("promotion_refs")):
            if not is_promotion_ref(ref):
                continue
            found = yield from self.promotion(ref)
            if found is None:
                continue
            specs = [
                s for s in self._counters(found, ref, User(user_id), None, at) if s.key[0] == "u"
            ]
            if specs:
                changed += yield call("reset", specs[0].key[: specs[0].key.rindex("|") + 1], at)
        return changed
