"""`liveops-rules demo`: a short, self-contained walk through the library on sample data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from liveops_rules.catalog import Catalog
from liveops_rules.errors import ValidationError
from liveops_rules.evaluate import evaluate
from liveops_rules.models import PromotionKind, User
from liveops_rules.wire import load_catalog_file, load_promotion, load_user, read_json_file

__all__ = ["run_demo"]

DEMO_MOMENT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def run_demo(catalog_path: Path, user_path: Path, out: TextIO) -> None:
    """Print the demo: load, explain, query the catalog, and show a validation error."""

    def say(text: str = "") -> None:
        out.write(text + "\n")

    promotions = load_catalog_file(catalog_path)
    user = load_user(read_json_file(user_path))
    catalog = Catalog(promotions)
    at = DEMO_MOMENT
    say(f"Loaded {len(promotions)} promotions from {catalog_path.name}.")
    say(f"Player {user.id} with attributes {dict(user.attributes)}")
    say(f"Deciding at {at.isoformat()} (time is always an argument; the engine has no clock).")
    say()

    say("1. Every promotion, eligible or not, with its reasons:")
    for decision in catalog.evaluate_all(user, at):
        promotion = decision.promotion
        verdict = "eligible" if decision.eligible else "not eligible"
        say(f"   {promotion.kind.value:<21} {promotion.key or '':<13} {verdict}")
        for reason in decision.reasons:
            say(f"      - {reason.code}: {reason.message}")
    say()

    say("2. The indexed catalog answers the same question without scanning every promotion:")
    coupons = catalog.eligible(user, at, kinds=[PromotionKind.COUPON])
    say(f"   coupons: {[p.key for p in coupons]}")
    discounts = catalog.eligible(user, at, kinds=[PromotionKind.ITEM_DISCOUNT])
    say(f"   item discounts: {[p.key for p in discounts]}")
    say()

    say("3. Personalized catalog: items each player sees.")
    for who in (user, User(None)):
        items = [item.sku or str(item.item_id) for item in catalog.visible_items(who, at)]
        say(f"   {who.id or 'anonymous player'}: {items}")
    say()

    vip = catalog.get(PromotionKind.COUPON, "vip_welcome")
    if vip is not None:
        gold = User(user.id, {**user.attributes, "tier": "gold"})
        say("4. Change one attribute and ask again:")
        say(f"   tier=silver → {evaluate(vip, user, at).eligible}")
        say(f"   tier=gold   → {evaluate(vip, gold, at).eligible}")
        say()

    say("5. Invalid payloads are refused with every problem and its JSON path:")
    broken = {
        "external_id": "spring sale",
        "name": {"en-US": "Spring"},
        "date_start": "2026-03-01T00:00:00+00:00",
        "date_end": "2026-02-01T00:00:00+00:00",
        "redeem_user_limit": 0,
        "attribute_conditions": [
            {"attribute": "level", "type": "number", "operator": "er", "value": "5"}
        ],
    }
    try:
        load_promotion(PromotionKind.COUPON, broken)
    except ValidationError as error:
        for problem in error.problems:
            say(f"   {problem}")
