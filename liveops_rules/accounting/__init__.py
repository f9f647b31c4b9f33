"""Redemption accounting: redeem, reserve, commit, release and cancel against a store.

The engine decides; the store counts. For each operation the engine finds the promotion,
asks the evaluator whether it applies, works out every counter the operation touches (the
promotion's total, the user's — per reset period when the limit recurs —, the code's) and
hands them to the store, which checks and counts them all in one atomic step. A limit of 500
means 500, whatever the concurrency.
"""

from __future__ import annotations

from collections.abc import Callable

from liveops_rules.accounting.asynchronous import AsyncAccounting
from liveops_rules.accounting.client import Verification
from liveops_rules.accounting.codebook import DEFAULT_CODE_ALPHABET, CodePage
from liveops_rules.accounting.core import promotion_ref
from liveops_rules.accounting.engine import AccountingSteps
from liveops_rules.accounting.ids import OperationIds
from liveops_rules.accounting.ledger import check_ledger
from liveops_rules.accounting.outcomes import AccountingError, Outcome, Refusal
from liveops_rules.accounting.registry import ImportReport, PromotionPage
from liveops_rules.accounting.steps import (
    Steps,
    StoreCall,
    run_steps,
    run_steps_async,
    sync_operation,
)
from liveops_rules.stores.protocol import RedemptionStore

__all__ = [
    "DEFAULT_CODE_ALPHABET",
    "Accounting",
    "AccountingError",
    "AccountingSteps",
    "AsyncAccounting",
    "CodePage",
    "ImportReport",
    "OperationIds",
    "Outcome",
    "PromotionPage",
    "Refusal",
    "Steps",
    "StoreCall",
    "Verification",
    "check_ledger",
    "promotion_ref",
    "run_steps",
    "run_steps_async",
]


class Accounting:
    """Redemptions and their limits, against any RedemptionStore.

    `code_normalizer` (for example `liveops_rules.normalize_code`) is applied to every code
    given; by default codes are case-sensitive, as in LiveOps. `new_id` makes operation ids.
    Each method runs the engine's steps (`steps`, an AccountingSteps) on `store`."""

    def __init__(
        self,
        store: RedemptionStore,
        *,
        code_normalizer: Callable[[str], str] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.steps = AccountingSteps(code_normalizer=code_normalizer, new_id=new_id)

    import_catalog = sync_operation(AccountingSteps.import_catalog)
    import_promotions = sync_operation(AccountingSteps.import_promotions)
    create_promotion = sync_operation(AccountingSteps.create_promotion)
    update_promotion = sync_operation(AccountingSteps.update_promotion)
    activate_promotion = sync_operation(AccountingSteps.activate_promotion)
    deactivate_promotion = sync_operation(AccountingSteps.deactivate_promotion)
    delete_promotion = sync_operation(AccountingSteps.delete_promotion)
    list_promotions = sync_operation(AccountingSteps.list_promotions)
    promotion = sync_operation(AccountingSteps.promotion)
    promotion_view = sync_operation(AccountingSteps.promotion_view)
    add_codes = sync_operation(AccountingSteps.add_codes)
    generate_codes = sync_operation(AccountingSteps.generate_codes)
    code_usage = sync_operation(AccountingSteps.code_usage)
    list_codes = sync_operation(AccountingSteps.list_codes)
    remove_codes = sync_operation(AccountingSteps.remove_codes)
    code_promotion = sync_operation(AccountingSteps.code_promotion)
    redeem = sync_operation(AccountingSteps.redeem)
    reserve = sync_operation(AccountingSteps.reserve)
    commit = sync_operation(AccountingSteps.commit)
    release = sync_operation(AccountingSteps.release)
    cancel = sync_operation(AccountingSteps.cancel)
    user_limit = sync_operation(AccountingSteps.user_limit)
    set_user_limit = sync_operation(AccountingSteps.set_user_limit)
    change_user_limit = sync_operation(AccountingSteps.change_user_limit)
    reset_user_limit = sync_operation(AccountingSteps.reset_user_limit)
    reset_all_user_limits = sync_operation(AccountingSteps.reset_all_user_limits)
    reset_limits_of_user = sync_operation(AccountingSteps.reset_limits_of_user)
    verify = sync_operation(AccountingSteps.verify)
    available_promotions = sync_operation(AccountingSteps.available_promotions)
