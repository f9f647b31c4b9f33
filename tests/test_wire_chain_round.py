"""Reward chains in LiveOps JSON: a catalog's chains and value points load, dump back as the
same payload, and a wrong field is named by its path."""

from __future__ import annotations

import copy

import pytest

from liveops_rules import ValidationError
from liveops_rules.models.chains import RewardChainSummary
from liveops_rules.wire import dump_payload, load_chain_catalog, load_payload
from tests.test_cli_chains import CHAIN_CATALOG


def test_a_catalogs_chains_load_and_dump_back_alike():
    catalog = load_chain_catalog(CHAIN_CATALOG)
    assert [p.sku for p in catalog.value_points] == ["snow"]
    assert [(r.sku, r.amount) for r in catalog.rewards["snow"]] == [("sword", 30)]
    (chain,) = catalog.reward_chains
    assert [s.price for s in chain.steps] == [50, 90]
    request = dump_payload(chain, "request")
    assert load_payload("reward_chain", request, form="request") == chain
    assert load_chain_catalog(dump_payload(catalog)) == catalog


def test_a_response_keeps_ids_and_the_list_item_omits_steps():
    (chain,) = load_chain_catalog(CHAIN_CATALOG).reward_chains
    import attrs

    steps = tuple(attrs.evolve(s, step_id=n) for n, s in enumerate(chain.steps, 1))
    kept = attrs.evolve(chain, chain_id=7, steps=steps)
    response = dump_payload(kept, "response")
    assert response["reward_chain_id"] == 7
    assert [s["step_id"] for s in response["steps"]] == [1, 2]
    assert load_payload("reward_chain", response, form="response") == kept
    assert "steps" not in dump_payload(RewardChainSummary.of(kept))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda c: c["steps"].clear(), "$.reward_chains[0].steps"),
        (lambda c: c["steps"][1]["price"].update(amount=0), "$.reward_chains[0].steps[1].price"),
        (lambda c: c.pop("date_start"), "$.reward_chains[0].date_start"),
        (lambda c: c.update(surprise=1), "$.reward_chains[0].surprise"),
        (lambda c: c["value_point"].update(sku="nosuch"), "$.reward_chains[0].value_point"),
        (lambda c: c["steps"][0]["reward"].clear(), "$.reward_chains[0].steps[0].reward"),
    ],
)
def test_a_wrong_chain_is_refused_with_its_path(change, path):
    catalog = copy.deepcopy(CHAIN_CATALOG)
    change(catalog["reward_chains"][0])
    with pytest.raises(ValidationError) as refused:
        load_chain_catalog(catalog)
    assert any(str(p).startswith(path) for p in refused.value.problems), refused.value.problems
