"""`AsyncAccounting`: the accounting operations for asyncio programs (FastAPI, aiohttp,
Starlette), over an async store. The decisions are `Accounting`'s own, the same steps
(`AccountingSteps`) driven by awaiting the store instead of calling it."""

from __future__ import annotations

from collections.abc import Callable

from liveops_rules.accounting.engine import AccountingSteps
from liveops_rules.accounting.steps import AsyncStore, async_operation
from liveops_rules.stores.calls import OnAsyncStore

__all__ = ["AsyncAccounting"]


class AsyncAccounting(OnAsyncStore):
    """`Accounting`'s operations as coroutines, against an async store (see
    `open_async_store`); `async with` closes the store on the way out.

    Options are `Accounting`'s. Many tasks may share one AsyncAccounting: what it learns
    (promotions loaded, codes resolved) is checked by the store at each count, as for
    `Accounting` shared by threads. A task cancelled during an operation leaves the store as
    a lost reply would: each store call is done once or not at all, and a retry with the same
    idempotency key gives the first outcome."""

    def __init__(
        self,
        store: AsyncStore,
        *,
        code_normalizer: Callable[[str], str] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(store)
        self.steps = AccountingSteps(code_normalizer=code_normalizer, new_id=new_id)

    async def aclose(self) -> None:
        """Close the store once the calls in flight are done. Close it after the operations
        using it have ended: an operation of several calls (an import with `sync`) stopped
        halfway by a closed store is left as a crash would leave it, and done again in full
        by running it again."""
        await self.store.aclose()

    import_catalog = async_operation(AccountingSteps.import_catalog)
    import_promotions = async_operation(AccountingSteps.import_promotions)
    create_promotion = async_operation(AccountingSteps.create_promotion)
    update_promotion = async_operation(AccountingSteps.update_promotion)
    activate_promotion = async_operation(AccountingSteps.activate_promotion)
    deactivate_promotion = async_operation(AccountingSteps.deactivate_promotion)
    delete_promotion = async_operation(AccountingSteps.delete_promotion)
    list_promotions = async_operation(AccountingSteps.list_promotions)
    promotion = async_operation(AccountingSteps.promotion)
    promotion_view = async_operation(AccountingSteps.promotion_view)
    add_codes = async_operation(AccountingSteps.add_codes)
    generate_codes = async_operation(AccountingSteps.generate_codes)
    code_usage = async_operation(AccountingSteps.code_usage)
    list_codes = async_operation(AccountingSteps.list_codes)
    remove_codes = async_operation(AccountingSteps.remove_codes)
    code_promotion = async_operation(AccountingSteps.code_promotion)
    redeem = async_operation(AccountingSteps.redeem)
    reserve = async_operation(AccountingSteps.reserve)
    commit = async_operation(AccountingSteps.commit)
    release = async_operation(AccountingSteps.release)
    cancel = async_operation(AccountingSteps.cancel)
    user_limit = async_operation(AccountingSteps.user_limit)
    set_user_limit = async_operation(AccountingSteps.set_user_limit)
    change_user_limit = async_operation(AccountingSteps.change_user_limit)
    reset_user_limit = async_operation(AccountingSteps.reset_user_limit)
    reset_all_user_limits = async_operation(AccountingSteps.reset_all_user_limits)
    reset_limits_of_user = async_operation(AccountingSteps.reset_limits_of_user)
    verify = async_operation(AccountingSteps.verify)
    available_promotions = async_operation(AccountingSteps.available_promotions)
