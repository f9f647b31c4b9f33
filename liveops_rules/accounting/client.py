"""What a player's client asks without counting anything: is this code good for me now, what
does it give, which promotions can I use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from liveops_rules.accounting.core import AccountingCore, is_promotion_ref, tombstone_moment
from liveops_rules.accounting.outcomes import LIMIT_NAMES, Refusal
from liveops_rules.accounting.steps import Steps, call
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import eligible_at, evaluate
from liveops_rules.models import Coupon, PromoCode, Promotion, PromotionKind, RewardItem, User
from liveops_rules.stores.bounds import check_stored_moment, check_text

__all__ = ["ClientCalls", "Verification"]


@attrs.frozen
class Verification:
    """A code that the player can use now: its promotion's kind (coupon or promo code), the
    code, the promotion and what it gives (`rewards`: its bonus items)."""

    kind: PromotionKind
    code: str
    promotion: Coupon | PromoCode
    rewards: tuple[RewardItem, ...]

    def to_dict(self) -> dict[str, Any]:
        """A summary: `{type, code, rewards}` with the bonus items as `{sku, quantity}`.
        LiveOps' own verify answer (rewards as its rewards call gives them) is
        `wire.code_verification(v.promotion, v.code)`, and `wire.code_rewards(v.promotion)`
        previews what a code gives."""
        return {
            "type": "promocode" if self.kind is PromotionKind.PROMO_CODE else "coupon",
            "code": self.code,
            "rewards": [{"sku": item.sku, "quantity": item.quantity} for item in self.rewards],
        }


class ClientCalls(AccountingCore):
    """Reads a client makes: code verification and the promotions a player can use."""

    def verify(self, code: str, user: User, at: datetime) -> Steps[Verification | Refusal]:
        """Whether `user` can use `code` at `at`, counting nothing: the `Verification`, or the
        Refusal a redeem (coupon) or a checkout (promo code) would meet — `malformed_code`
        and unmet conditions (9807), `unknown_code` (9811), `ended` (9810), `limit_reached`
        (9804, with holds in flight counted)."""
        check_stored_moment(at)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        if user.id is not None:
            check_text(user.id, "user.id")
        if not isinstance(code, str):
            raise ValidationError.single("code", "a string", code)
        code = self._code(code)
        self._owners.pop(code, None)  # a verification reads the store: codes can move
        _, ref, found, refused = yield from self._resolve(code, None)
        if refused is not None:
            assert refused.refusal is not None
            return refused.refusal
        assert ref is not None
        found = yield from self.promotion(ref)  # as the store keeps it now: nothing checks it later
        if found is None:
            return Refusal("unknown_promotion", f"{ref} not found")
        if not isinstance(found, Coupon | PromoCode):
            return Refusal("unknown_code", "Code not found.")
        if not eligible_at(found, user, at):
            reasons = evaluate(found, user, at).reasons
            return Refusal(reasons[0].code, reasons[0].message, tuple(r.to_dict() for r in reasons))
        for spec in self._counters(found, ref, user, code, at):
            if spec.limit is None:
                continue
            state = yield call("counter", spec.key, at)
            if state.used + state.reserved + 1 > spec.limit + state.extra:
                name, label = LIMIT_NAMES[spec.key[0]]
                taken, allowed = state.used + state.reserved, spec.limit + state.extra
                return Refusal(
                    "limit_reached", f"{label} limit {taken} of {allowed} used", limit=name
                )
        return Verification(found.kind, code, found, tuple(found.bonus))

    def available_promotions(self, user: User, at: datetime) -> Steps[list[Promotion]]:
        """The store's promotions that apply to `user` at `at` and whose every limit has room
        for one more use (holds in flight counted), sorted by ref; counting nothing. Codes'
        own limits are not part of it: a code is verified with `verify`."""
        check_stored_moment(at)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        if user.id is not None:
            check_text(user.id, "user.id")
        found = []
        documents = yield call("promotion_documents")
        for ref, document in sorted(documents.items()):
            if not is_promotion_ref(ref) or tombstone_moment(document) is not None:
                continue
            promotion = yield from self.promotion(ref)
            if promotion is None or not eligible_at(promotion, user, at):
                continue
            if user.id is None and _per_user_limit(promotion):
                continue  # a per-user limit needs a signed-in player
            for spec in self._counters(promotion, ref, user, None, at):
                if spec.limit is None:
                    continue
                state = yield call("counter", spec.key, at)
                if state.used + state.reserved + 1 > spec.limit + state.extra:
                    break
            else:
                found.append(promotion)
        return found


def _per_user_limit(promotion: Promotion) -> bool:
    if getattr(promotion, "redeem_user_limit", None) is not None:
        return True
    limits = getattr(promotion, "limits", None)
    return limits is not None and limits.per_user is not None
