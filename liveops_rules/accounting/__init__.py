"""Redemption accounting: redeem, reserve, commit, release and cancel against a store.

The engine decides; the store counts. For each operation the engine finds the promotion,
asks the evaluator whether it applies, works out every counter the operation touches (the
promotion's total, the user's — per reset period when the limit recurs —, the code's) and
hands them to the store, which checks and counts them all in one atomic step. A limit of 500
means 500, whatever the concurrency.
"""

from __future__ import annotations

from liveops_rules.accounting.client import ClientCalls, Verification
from liveops_rules.accounting.codebook import DEFAULT_CODE_ALPHABET, CodeBook, CodePage
from liveops_rules.accounting.core import promotion_ref
from liveops_rules.accounting.counting import Counting
from liveops_rules.accounting.ids import OperationIds
from liveops_rules.accounting.ledger import check_ledger
from liveops_rules.accounting.limits_admin import LimitAdmin
from liveops_rules.accounting.outcomes import AccountingError, Outcome, Refusal
from liveops_rules.accounting.registry import ImportReport, PromotionPage, PromotionRegistry

__all__ = [
    "DEFAULT_CODE_ALPHABET",
    "Accounting",
    "AccountingError",
    "CodePage",
    "ImportReport",
    "OperationIds",
    "Outcome",
    "PromotionPage",
    "Refusal",
    "Verification",
    "check_ledger",
    "promotion_ref",
]


class Accounting(PromotionRegistry, CodeBook, Counting, LimitAdmin, ClientCalls):
    """Redemptions and their limits, against any RedemptionStore.

    `code_normalizer` (for example `liveops_rules.normalize_code`) is applied to every code
    given; by default codes are case-sensitive, as in LiveOps. `new_id` makes operation ids."""
