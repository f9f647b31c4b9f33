"""Upsell on a store: the project's one configuration, and what it offers a player.

The rules (LiveOps' where it says, `reference/chains.md`'s defaults where it does not):
- one configuration per store; `put` creates or replaces it (LiveOps' POST and PUT), a fixed
  list's SKUs must all be in the caller's item catalog (else 404 "Items weren't found: ...",
  nothing written); `activate` / `deactivate` switch it; a disabled or missing one offers
  nothing (an empty page, not an error);
- `fixed_list` offers the listed items in the list's order; `only_promotions` the catalog's
  items (in catalog order) that a running discount or bonus the player is eligible for
  targets; `most_sellable` the items sold most in the last 30 UTC days (`record_sale` counts
  a paid order's lines once), ties by SKU;
- never an item already in the player's cart, nor one that a running personalized catalog
  rule shows only to players the player is not among;
- each offered item carries its price after the discounts that apply to it alone (with
  `pricing`), the promotions that apply, and their per-user limits left for the player (with
  `accounting`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from liveops_rules._pricing_index import PricingIndex
from liveops_rules.accounting import (
    Accounting,
    AccountingError,
    AccountingSteps,
    AsyncAccounting,
    Steps,
    promotion_ref,
    run_steps,
    run_steps_async,
)
from liveops_rules.accounting.steps import async_operation, sync_operation
from liveops_rules.chains.progress import Documents
from liveops_rules.checkout import Checkout
from liveops_rules.errors import StoreError, ValidationError
from liveops_rules.evaluate import check_moment, evaluate
from liveops_rules.models import (
    Bonus,
    ItemDiscount,
    PersonalizedCatalogRule,
    Promotion,
    PromotionKind,
    User,
)
from liveops_rules.models.cart import Cart, CartLine
from liveops_rules.models.upsell import CatalogItem, UpsellConfig, UpsellType
from liveops_rules.pricing import Pricing, Quote
from liveops_rules.sales import sales_recorded, sold_in
from liveops_rules.stores import RedemptionStore
from liveops_rules.stores.bounds import check_count, check_stored_moment
from liveops_rules.stores.calls import AsyncStore, OnAsyncStore

__all__ = [
    "UPSELL_OPERATIONS",
    "AsyncUpsell",
    "ItemCatalog",
    "OfferPlan",
    "OfferedItem",
    "Upsell",
    "UpsellPage",
    "UpsellSteps",
]

_MAX_PAGE = 50
_SWAP_TRIES = 10
_NOT_RUNNING = frozenset({"disabled", "not_started", "ended", "between_periods"})


def _dump(config: UpsellConfig) -> str:
    return json.dumps(
        {"type": config.type.value, "enabled": config.enabled, "items": list(config.items)},
        sort_keys=True,
    )


def _load(document: str) -> UpsellConfig:
    data = json.loads(document)
    return UpsellConfig(type=data["type"], enabled=data["enabled"], items=data["items"])


class ItemCatalog:
    """The caller's item catalog, indexed once for offers: its items in order and, with a
    `pricing`, which of its discounts and bonuses target each item (at its price)."""

    def __init__(self, items: Iterable[CatalogItem], pricing: Pricing | None = None) -> None:
        if isinstance(items, str | bytes | dict) or not isinstance(items, Iterable):
            raise ValidationError.single("items", "a list of CatalogItems", items)
        self.items: tuple[CatalogItem, ...] = tuple(items)
        self.by_sku: dict[str, CatalogItem] = {}
        for index, item in enumerate(self.items):
            if not isinstance(item, CatalogItem):
                raise ValidationError.single(f"items[{index}]", "a CatalogItem", item)
            if item.sku in self.by_sku:
                raise ValidationError.single(f"items[{index}].sku", "each SKU once", item.sku)
            self.by_sku[item.sku] = item
        if pricing is not None and not isinstance(pricing, Pricing):
            raise ValidationError.single("pricing", "a Pricing", pricing)
        self.pricing = pricing
        self.promotions: tuple[Promotion, ...] = () if pricing is None else tuple(pricing.catalog)
        self.rules: tuple[PersonalizedCatalogRule, ...] = tuple(
            p for p in self.promotions if isinstance(p, PersonalizedCatalogRule)
        )
        """The personalized catalog rules (which may hide items)."""
        targeting = PricingIndex(self.promotions)
        self.limited = sum(1 << position for position in targeting.limited)
        """The promotions with a per-user limit, as a bitset of their positions."""
        self.targets: list[tuple[int, ...]] = []
        """For each item, the positions of the discounts and bonuses that target it."""
        for item in self.items:
            discounts, bonuses = targeting.targets(item.sku, item.price)
            self.targets.append((*discounts, *bonuses))

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen
class OfferedItem:
    """An item an upsell offers a player: its price before and after the discounts that
    apply to it alone, the promotions that apply, and their per-user limits left."""

    item: CatalogItem
    price: Decimal | None
    price_without_discount: Decimal | None
    promotions: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """LiveOps' client upsell item."""
        item = self.item
        shown: dict[str, Any] = {
            "sku": item.sku,
            "name": item.name.best(),
            "type": item.type.value,
            "description": item.description.best(),
            "is_free": item.is_free,
            "price": None
            if self.price is None
            else {
                "amount": str(self.price),
                "amount_without_discount": str(self.price_without_discount),
                "currency": item.currency,
            },
            "virtual_prices": [
                {
                    "amount": price.amount,
                    "amount_without_discount": price.amount,
                    "sku": price.currency,
                    "is_default": index == 0,
                }
                for index, price in enumerate(item.virtual_prices)
            ],
            "can_be_bought": True,
            "promotions": list(self.promotions),
        }
        if item.image_url is not None:
            shown["image_url"] = item.image_url
        return shown


@attrs.frozen
class UpsellPage:
    """A page of offered items and whether more follow."""

    items: tuple[OfferedItem, ...]
    has_more: bool

    def to_dict(self) -> dict[str, Any]:
        """LiveOps' client answer `{has_more, items}`."""
        return {"has_more": self.has_more, "items": [item.to_dict() for item in self.items]}


@attrs.frozen
class _Priced:
    """An item on a page and what pricing applies to it, before its limits are looked up."""

    item: CatalogItem
    final_price: Decimal | None
    price: Decimal | None
    promotions: tuple[tuple[Promotion, Decimal | None], ...]


@attrs.frozen
class OfferPlan:
    """An offer's page priced, waiting for the players' per-user limits left: `limits` are
    the steps that look them up on an accounting's store, `page` the page they make."""

    priced: tuple[_Priced, ...]
    more: bool
    user: User
    at: datetime

    def limits(self, accounting: AccountingSteps | None) -> Steps[dict[str, int]]:
        """The per-user limit left for the player of each limited promotion on the page that
        `accounting`'s store counts (none without an accounting or a signed-in player)."""
        available: dict[str, int] = {}
        if accounting is None or self.user.id is None:
            return available
        for priced in self.priced:
            for promotion, _ in priced.promotions:
                ref = promotion_ref(promotion)
                if ref in available or _per_user(promotion) is None:
                    continue
                with contextlib.suppress(AccountingError):  # not in the store: nothing counted
                    used = yield from accounting.user_limit(promotion, self.user.id, self.at)
                    available[ref] = used.available
        return available

    def page(self, available: dict[str, int]) -> UpsellPage:
        """The page, each limited promotion showing what `available` says is left."""
        offered = []
        for priced in self.priced:
            shown = [
                _promotion_shown(promotion, percent, available)
                for promotion, percent in priced.promotions
            ]
            offered.append(
                OfferedItem(priced.item, priced.final_price, priced.price, tuple(_unique(shown)))
            )
        return UpsellPage(tuple(offered), self.more)


class UpsellSteps:
    """The upsell configuration and offers as steps (see `accounting.steps`): `Upsell` runs
    them on a store, `AsyncUpsell` awaits them on an async one."""

    def __init__(self) -> None:
        self._config: Documents[UpsellConfig] = Documents("upsell", _dump, _load)

    # -- the configuration --------------------------------------------------------------------

    def get(self) -> Steps[UpsellConfig | None]:
        """The configuration kept now, or None."""
        kept = yield from self._config.get("config")
        return None if kept is None else kept[0]

    def put(
        self, config: UpsellConfig, catalog: ItemCatalog | Iterable[CatalogItem]
    ) -> Steps[None]:
        """Create or replace the configuration (LiveOps' POST and PUT). A fixed list's SKUs
        must all be in `catalog` (AccountingError `items_not_found`, 404, naming them)."""
        if not isinstance(config, UpsellConfig):
            raise ValidationError.single("upsell", "an UpsellConfig", config)
        known = catalog if isinstance(catalog, ItemCatalog) else ItemCatalog(catalog)
        missing = [sku for sku in config.items if sku not in known.by_sku]
        if missing:
            raise AccountingError(
                "items_not_found", f"Items weren't found: {', '.join(missing)}", tuple(missing)
            )
        yield from self._swap(lambda _: config)

    def _swap(self, change: Callable[[UpsellConfig | None], UpsellConfig]) -> Steps[UpsellConfig]:
        for _ in range(_SWAP_TRIES):
            kept = yield from self._config.get("config")
            current, version = (None, None) if kept is None else kept
            changed = change(current)
            if (yield from self._config.swap("config", version, changed)):
                return changed
        raise StoreError("the upsell configuration kept changing")

    def _switch(self, enabled: bool) -> Steps[UpsellConfig]:
        def switch(current: UpsellConfig | None) -> UpsellConfig:
            if current is None:
                raise AccountingError("upsell_not_found", "Upsell is not configured.")
            return attrs.evolve(current, enabled=enabled)

        return (yield from self._swap(switch))

    def activate(self) -> Steps[UpsellConfig]:
        """Enable the configuration (AccountingError `upsell_not_found` without one)."""
        return (yield from self._switch(True))

    def deactivate(self) -> Steps[UpsellConfig]:
        """Disable the configuration (it offers nothing until activated again)."""
        return (yield from self._switch(False))

    # -- sales ----------------------------------------------------------------------------

    def record_sale(
        self,
        order_id: str,
        paid: Quote | Checkout | Sequence[tuple[str, int]],
        at: datetime,
    ) -> Steps[bool]:
        """Count a paid order's lines (a quote's, a committed checkout's, or `(sku, quantity)`
        pairs) for `most_sellable`, once per order id; True when this call counted them."""
        if isinstance(paid, Checkout):
            paid = paid.quote
        if not isinstance(paid, Quote | list | tuple):
            raise ValidationError.single(
                "paid", "a Quote, a Checkout or (sku, quantity) pairs", paid
            )
        lines = [(ln.sku, ln.quantity) for ln in paid.lines] if isinstance(paid, Quote) else paid
        return (yield from sales_recorded(order_id, list(lines), at))

    # -- offers ---------------------------------------------------------------------------

    def offer_plan(
        self,
        user: User,
        at: datetime,
        catalog: ItemCatalog,
        *,
        cart: Cart | None = None,
        limit: int = 10,
        offset: int = 0,
        days: int = 30,
    ) -> Steps[OfferPlan]:
        """The items the configuration offers `user` at `at` from `catalog`, `limit` (at
        most 50) from `offset`, priced: never one in `cart` or hidden from the player by a
        personalized catalog rule; `days` is `most_sellable`'s window."""
        check_stored_moment(at)
        if not isinstance(user, User):
            raise ValidationError.single("user", "a User", user)
        if not isinstance(catalog, ItemCatalog):
            raise ValidationError.single("catalog", "an ItemCatalog", catalog)
        if cart is not None and not isinstance(cart, Cart):
            raise ValidationError.single("cart", "a Cart", cart)
        check_count(limit, "limit", 1, _MAX_PAGE)
        check_count(offset, "offset", 0)
        check_count(days, "days", 1, 366)
        config = yield from self.get()
        if config is None or not config.enabled:
            return OfferPlan((), False, user, at)
        excluded = {line.sku for line in cart.lines} if cart is not None else set()
        excluded |= hidden_skus(catalog, user, at)
        wanted = offset + limit + 1
        found: list[CatalogItem] = []
        for item in (yield from self._candidates(config, user, at, catalog, days)):
            if item.sku in excluded:
                continue
            found.append(item)
            if len(found) >= wanted:
                break
        page = found[offset : offset + limit]
        priced = tuple(_priced(item, catalog, user, at) for item in page)
        return OfferPlan(priced, len(found) > offset + limit, user, at)

    def _candidates(
        self, config: UpsellConfig, user: User, at: datetime, catalog: ItemCatalog, days: int
    ) -> Steps[Iterable[CatalogItem]]:
        if config.type is UpsellType.FIXED_LIST:
            return (catalog.by_sku[sku] for sku in config.items if sku in catalog.by_sku)
        if config.type is UpsellType.MOST_SELLABLE:
            sold = yield from sold_in(at, days=days)
            return (catalog.by_sku[sku] for sku, _ in sold if sku in catalog.by_sku)
        return _promoted(catalog, user, at)


class Upsell:
    """The upsell configuration of one store, and the offers it makes (see the module).
    Each method runs `UpsellSteps` (`steps`) on `store`."""

    def __init__(self, store: RedemptionStore) -> None:
        self.store = store
        self.steps = UpsellSteps()

    get = sync_operation(UpsellSteps.get)
    put = sync_operation(UpsellSteps.put)
    activate = sync_operation(UpsellSteps.activate)
    deactivate = sync_operation(UpsellSteps.deactivate)
    record_sale = sync_operation(UpsellSteps.record_sale)

    def offer(
        self,
        user: User,
        at: datetime,
        catalog: ItemCatalog,
        *,
        cart: Cart | None = None,
        accounting: Accounting | None = None,
        limit: int = 10,
        offset: int = 0,
        days: int = 30,
    ) -> UpsellPage:
        """The items the configuration offers `user` at `at` from `catalog`, `limit` (at
        most 50) from `offset`: never one in `cart` or hidden from the player by a
        personalized catalog rule; `days` is `most_sellable`'s window; with `accounting`,
        each limited promotion shows the per-user limit left in its store."""
        if accounting is not None and not isinstance(accounting, Accounting):
            raise ValidationError.single("accounting", "an Accounting", accounting)
        plan = run_steps(
            self.steps.offer_plan(
                user, at, catalog, cart=cart, limit=limit, offset=offset, days=days
            ),
            self.store,
        )
        if accounting is None:
            return plan.page({})
        return plan.page(run_steps(plan.limits(accounting.steps), accounting.store))


class AsyncUpsell(OnAsyncStore):
    """`Upsell` for asyncio programs: the same steps awaited on an async store (see
    `open_async_store`); `async with` closes the store on the way out."""

    def __init__(self, store: AsyncStore) -> None:
        super().__init__(store)
        self.steps = UpsellSteps()

    get = async_operation(UpsellSteps.get)
    put = async_operation(UpsellSteps.put)
    activate = async_operation(UpsellSteps.activate)
    deactivate = async_operation(UpsellSteps.deactivate)
    record_sale = async_operation(UpsellSteps.record_sale)

    async def offer(
        self,
        user: User,
        at: datetime,
        catalog: ItemCatalog,
        *,
        cart: Cart | None = None,
        accounting: AsyncAccounting | None = None,
        limit: int = 10,
        offset: int = 0,
        days: int = 30,
    ) -> UpsellPage:
        """`Upsell.offer`, awaited (`accounting` an AsyncAccounting)."""
        if accounting is not None and not isinstance(accounting, AsyncAccounting):
            raise ValidationError.single("accounting", "an AsyncAccounting", accounting)
        plan = await run_steps_async(
            self.steps.offer_plan(
                user, at, catalog, cart=cart, limit=limit, offset=offset, days=days
            ),
            self.store,
        )
        if accounting is None:
            return plan.page({})
        return plan.page(await run_steps_async(plan.limits(accounting.steps), accounting.store))


UPSELL_OPERATIONS = ("get", "put", "activate", "deactivate", "record_sale", "offer")
"""The operations `Upsell` and `AsyncUpsell` both offer."""


def _promoted(catalog: ItemCatalog, user: User, at: datetime) -> Iterable[CatalogItem]:
    """The catalog's items a discount or bonus `user` is eligible for at `at` targets."""
    if catalog.pricing is None:
        return
    kinds = (PromotionKind.ITEM_DISCOUNT, PromotionKind.BONUS)
    mask = catalog.pricing.catalog.eligible_mask(user, at, kinds)
    if user.id is None:
        mask &= ~catalog.limited  # a per-user limit needs a signed-in player, as pricing says
    if not mask:
        return
    bits = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    size = len(bits)
    for item, targets in zip(catalog.items, catalog.targets, strict=True):
        for position in targets:
            byte = position >> 3
            if byte < size and bits[byte] >> (position & 7) & 1:
                yield item
                break


def hidden_skus(catalog: ItemCatalog, user: User, at: datetime) -> set[str]:
    """The catalog's SKUs that a running personalized catalog rule shows only to players
    `user` is not among (named by SKU or by item id)."""
    if not catalog.rules:
        return set()
    check_moment(at)
    decisions = [evaluate(rule, user, at) for rule in catalog.rules]
    shown_skus: set[str] = set()
    shown_ids: set[int] = set()
    kept_skus: set[str] = set()
    kept_ids: set[int] = set()
    for decision in decisions:
        rule = decision.promotion
        assert isinstance(rule, PersonalizedCatalogRule)
        if decision.eligible:
            skus, ids = shown_skus, shown_ids
        elif all(reason.code not in _NOT_RUNNING for reason in decision.reasons):
            skus, ids = kept_skus, kept_ids
        else:
            continue  # a rule that is not running hides nothing
        for named in rule.items:
            if named.sku is not None:
                skus.add(named.sku)
            if named.item_id is not None:
                ids.add(named.item_id)
    hidden = set()
    for item in catalog.items:
        kept = item.sku in kept_skus or item.item_id in kept_ids
        shown = item.sku in shown_skus or item.item_id in shown_ids
        if kept and not shown:
            hidden.add(item.sku)
    return hidden


def _priced(item: CatalogItem, catalog: ItemCatalog, user: User, at: datetime) -> _Priced:
    pricing = catalog.pricing
    if pricing is None or item.price is None or item.currency is None:
        return _Priced(item, item.price, item.price, ())
    cart = Cart(currency=item.currency, lines=[CartLine(sku=item.sku, price=item.price)])
    quote = pricing.quote(cart, user, at)
    (line,) = quote.lines
    promotions = []
    for applied in (*line.applied, *(a for a in quote.applied if a.items)):
        promotion = pricing.catalog.get(applied.kind, applied.id)
        if promotion is not None:
            promotions.append((promotion, applied.percent))
    return _Priced(item, line.final_price, line.price, tuple(promotions))


def _per_user(promotion: Promotion) -> int | None:
    limits = promotion.limits if isinstance(promotion, ItemDiscount | Bonus) else None
    return None if limits is None else limits.per_user


def _unique(promotions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept = []
    for shown in promotions:
        key = json.dumps(shown, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            kept.append(shown)
    return kept


def _promotion_shown(
    promotion: Promotion, percent: Decimal | None, available: dict[str, int]
) -> dict[str, Any]:
    window = promotion.window
    shown: dict[str, Any] = {
        "name": promotion.name.best() if hasattr(promotion.name, "best") else str(promotion.name),
        "date_start": None if window.start is None else window.start.isoformat(),
        "date_end": None if window.end is None else window.end.isoformat(),
        "discount": None
        if not isinstance(promotion, ItemDiscount)
        else {"percent": str(percent if percent is not None else promotion.discount_percent)},
        "bonus": []
        if not isinstance(promotion, Bonus)
        else [{"sku": r.sku, "quantity": r.quantity} for r in promotion.bonus],
    }
    per_user = _per_user(promotion)
    if per_user is not None:
        left = available.get(promotion_ref(promotion), per_user)
        shown["limits"] = {"per_user": {"available": left, "total": per_user}}
    return shown
