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


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"])
def test_table_costs_equal_the_tables_own_calculation_to_the_last_digit(model):
    from chainstudio.core.run.pricing import _exact_table_cost

    pricing = Pricing()
    for tokens_in, tokens_out in ((0, 0), (1, 0), (0, 1), (137, 53), (12_345, 678), (199_999, 1), (250_000, 9_000)):
        exact = _exact_table_cost(model, "openai", tokens_in, tokens_out)  # genai-prices' calc_price, uncached
        assert pricing.cost(model, tokens_in, tokens_out) == exact
        assert pricing.cost_usd(model, tokens_in, tokens_out) == float(exact)


def test_a_tiered_price_is_calculated_in_full_and_an_unknown_model_is_remembered_as_unknown():
    from chainstudio.core.run.pricing import _UNKNOWN, _table_rates

    assert _table_rates("gemini-2.5-pro", "openai") is None  # prompts over 200k tokens cost more per token
    assert Pricing().cost("gemini-2.5-pro", 250_000, 0) > Pricing().cost("gemini-2.5-pro", 200_000, 0) * Decimal("1.25")
    assert _table_rates("no-such-model-xyz", "openai") is _UNKNOWN


def test_call_cost_is_zero_without_tokens_and_falls_back_to_the_requested_model_for_its_snapshots():
    pricing = Pricing({"mine": {"input": 1, "output": 2}}, use_table=False)
    assert pricing.call_cost("anything", "anything", 0, 0) == 0.0
    assert pricing.call_cost("mine", "mine", 1_000_000, 0) == 1.0
    assert pricing.call_cost("mine-2026-01-01", "mine", 0, 1_000_000) == 2.0  # the server named a snapshot
    assert pricing.call_cost("other", "other", 10, 10) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"m": {"input": float("nan"), "output": 1}},
        {"m": {"input": 1, "output": -2}},
        {"m": {"input": float("inf"), "output": 1}},
        {"m": {"input": True, "output": 1}},
        {"m": {"input": "NaN", "output": 1}},
        {"m": {"input": 1, "output": 1, "cached_input": -1}},
    ],
)
def test_nan_infinite_negative_or_boolean_prices_are_refused(bad):
    with pytest.raises(PricingError, match="finite, non-negative"):
        Pricing(bad)


def test_cached_prompt_tokens_cost_the_cache_read_rate():
    table = Pricing()
    # gpt-4o-mini: 10k input of which 8k cached, 500 output: $0.0012 instead of $0.0018 (-33 %)
    assert table.cost("gpt-4o-mini", 10_000, 500, 8_000) == Decimal("0.0012")
    assert table.cost("gpt-4o-mini", 10_000, 500) == Decimal("0.0018")
    from chainstudio.core.run.pricing import _exact_table_cost

    for model in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gpt-3.5-turbo"):
        for tokens_in, cached, tokens_out in ((1000, 0, 10), (12_345, 12_000, 678), (50_000, 1, 0)):
            assert table.cost(model, tokens_in, tokens_out, cached) == _exact_table_cost(
                model, "openai", tokens_in, tokens_out, cached
            )
    override = Pricing({"m": {"input": 2, "output": 4, "cached_input": 1}}, use_table=False)
    assert override.cost("m", 1_000_000, 0, 400_000) == Decimal("1.6")
    assert Pricing({"m": {"input": 2, "output": 4}}).cost("m", 1_000_000, 0, 400_000) == Decimal(2)


def test_a_snapshot_of_the_asked_model_is_priced_as_it_but_another_model_is_unknown():
    pricing = Pricing()
    assert pricing.call_cost("gemma", "gpt-4o", 1000, 1000) is None  # never the asked model's rate
    assert pricing.call_cost("gpt-4o", "gpt-4o", 1000, 0) == pytest.approx(0.0025)


@pytest.mark.parametrize(
    "bad",
    [
        {"m": {"input": "1e400", "output": 1}},  # held out: a cost of 1e400 is infinite once it is a float
        {"m": {"input": 10**400, "output": 1}},
        {"m": {"input": 1, "output": 1e300}},
        {"m": {"input": 1, "output": 1, "cached_input": 10**8}},
    ],
)
def test_prices_beyond_any_real_price_are_refused(bad):
    with pytest.raises(PricingError, match="up to 10,000,000"):
        Pricing(bad)


def test_odd_but_real_prices_are_read_as_numbers():
    pricing = Pricing({"neg-zero": {"input": -0.0, "output": "-0"}, "tiny": {"input": 5e-324, "output": 0}})
    cost = pricing.cost("neg-zero", 1000, 1000)
    assert cost == 0 and not cost.is_signed()  # never shown as "-$0.0000"
    assert pricing.cost_usd("tiny", 10**8, 0) == pytest.approx(0.0)
