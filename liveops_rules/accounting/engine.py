"""The accounting engine as steps: every operation of `Accounting` and `AsyncAccounting`,
written once, without I/O (see `accounting.steps`)."""

from __future__ import annotations

from liveops_rules.accounting.client import ClientCalls
from liveops_rules.accounting.codebook import CodeBook
from liveops_rules.accounting.counting import Counting
from liveops_rules.accounting.limits_admin import LimitAdmin
from liveops_rules.accounting.registry import PromotionRegistry

__all__ = ["OPERATIONS", "AccountingSteps"]


class AccountingSteps(PromotionRegistry, CodeBook, Counting, LimitAdmin, ClientCalls):
    """Every accounting operation as steps: each method returns a generator that yields the
    store calls it needs (`StoreCall`) and returns the operation's result. It keeps what the
    operations learn between calls (promotions loaded and their versions, codes resolved);
    `code_normalizer` and `new_id` are as for `Accounting`. Drive it with `run_steps` on a
    store, `run_steps_async` on an async one, or with your own driver."""


OPERATIONS = (
    "import_catalog",
    "import_promotions",
    "create_promotion",
    "update_promotion",
    "activate_promotion",
    "deactivate_promotion",
    "delete_promotion",
    "list_promotions",
    "promotion",
    "promotion_view",
    "add_codes",
    "generate_codes",
    "code_usage",
    "list_codes",
    "remove_codes",
    "code_promotion",
    "redeem",
    "reserve",
    "commit",
    "release",
    "cancel",
    "user_limit",
    "set_user_limit",
    "change_user_limit",
    "reset_user_limit",
    "reset_all_user_limits",
    "reset_limits_of_user",
    "verify",
    "available_promotions",
)
"""The operations both APIs offer, by name: the public methods of AccountingSteps."""
