"""Promotions in a store: import, and (later) their whole life."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from liveops_rules.accounting.core import AccountingCore
from liveops_rules.accounting.outcomes import code_exists_error
from liveops_rules.errors import ValidationError
from liveops_rules.models import Promotion, PromotionKind

__all__ = ["PromotionRegistry"]


class PromotionRegistry(AccountingCore):
    """Keeping promotions and their configuration in the store."""

    def import_catalog(
        self,
        promotions: Sequence[Promotion],
        codes: Mapping[tuple[PromotionKind, str], Sequence[str]],
    ) -> int:
        """Keep the promotions and give each its codes; importing the same catalog again
        changes nothing. Returns how many codes were new. AccountingError `code_exists` if a
        code belongs to another promotion: found before anything is written, nothing of the
        catalog's codes is added; found while adding (another import gave it away meanwhile),
        the promotion keeps none of the codes the other took, and the error names them."""
        by_key = {(p.kind, p.key): p for p in promotions}
        wanted_codes: dict[str, list[str]] = {}
        for (kind, key), wanted in codes.items():
            ref = f"{kind.value}:{key}"
            if (kind, key) not in by_key:
                raise ValidationError.single("codes", "codes of a promotion in the catalog", ref)
            self._check_code_kind(by_key[kind, key])
            fresh = self._valid_codes(wanted)
            clash = [c for c in fresh if self.store.code_owner(c) not in (None, ref)]
            if clash:
                raise code_exists_error(clash)
            wanted_codes[ref] = fresh
        self.import_promotions(promotions)
        added = 0
        for ref, fresh in wanted_codes.items():
            taken = self.store.add_codes(ref, fresh)
            lost = [c for c in taken if self.store.code_owner(c) != ref]
            if lost:
                raise code_exists_error(lost)
            added += len(fresh) - len(taken)
        return added
