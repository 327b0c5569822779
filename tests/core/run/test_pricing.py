"""Prices: the bundled genai-prices table offline, user overrides, unknown models never cost 0."""

import json
from decimal import Decimal

import pytest

from chainstudio.core.run.pricing import ModelPrice, Pricing, PricingError


def test_table_prices_known_models_in_decimal():
    pricing = Pricing()
    assert pricing.cost("gpt-4o", 1_000_000, 0) == Decimal("2.5")
    assert pricing.cost("gpt-4o", 1000, 500) == Decimal("0.0075")
    assert pricing.price("gpt-4o-mini").source == "genai-prices"


def test_unknown_models_cost_none_not_zero():
    pricing = Pricing()
    assert pricing.cost("no-such-model-xyz", 1000, 1000) is None
    assert pricing.cost_usd(None, 10, 10) is None
    assert Pricing(use_table=False).cost("gpt-4o", 10, 10) is None


def test_overrides_win_and_load_from_json(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpt-4o": {"input": 1, "output": 2}, "llama3": {"input": 0, "output": 0}}))
    pricing = Pricing.from_file(path)
    assert pricing.cost("gpt-4o", 1_000_000, 1_000_000) == Decimal(3)
    assert pricing.cost("llama3", 5000, 5000) == Decimal(0)  # a free local model is 0, known
    assert pricing.price("gpt-4o") == ModelPrice(Decimal(1), Decimal(2))


@pytest.mark.parametrize("bad", [{"m": {"input": 1}}, {"m": "cheap"}])
def test_bad_overrides_are_refused_with_a_reason(bad, tmp_path):
    with pytest.raises(PricingError, match="'m'"):
        Pricing(bad)
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(PricingError, match="cannot read prices"):
        Pricing.from_file(path)


def test_unknown_price_makes_the_run_cost_unknown():
    from tests.core.helpers import chain
    from tests.support.engine import run_scripted

    run, _ = run_scripted(chain("a"), model="no-such-model-xyz")
    assert run.state.span_by_name("a").cost_usd is None
    assert run.state.totals().cost_usd is None
    run, _ = run_scripted(chain("a"), model="gpt-4o")
    assert run.state.totals().cost_usd == pytest.approx((10 * 2.5 + 5 * 10) / 1e6)
