"""``Pricing.batch_cost``: a call through a Batch API at the table's batch price, else half the standard one."""

from decimal import Decimal

from chainstudio.core.run.pricing import BATCH_SOURCE, Pricing


def test_the_tables_batch_price_is_used_where_it_has_one():
    pricing = Pricing()
    for model in ("gpt-4o-mini", "gpt-4o"):
        cost, source = pricing.batch_cost(model, 1_000_000, 1_000_000)
        assert source == "genai-prices batch price"
        assert cost == pricing.cost(model, 1_000_000, 1_000_000) / 2  # OpenAI's batch prices are half


def test_an_override_is_halved_as_openai_documents_and_says_so():
    cost, source = Pricing({"my-model": {"input": 1, "output": 3}}).batch_cost("my-model", 2_000_000, 1_000_000)
    assert cost == Decimal("2.5") and source == BATCH_SOURCE and "platform.openai.com/docs/guides/batch" in source


def test_local_servers_are_free_and_unknown_models_unknown():
    local = Pricing().for_endpoint("http://127.0.0.1:8080/v1")
    assert local.batch_cost("gpt-4o", 1000, 100) == (Decimal(0), local.free_note)
    assert Pricing().batch_cost("no-such-model-xyz", 1000, 100) == (None, "unknown price")
    assert Pricing().batch_cost(None, 1000, 100) == (None, "no model")
