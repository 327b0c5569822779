"""The advisor's prompt-caching rule (core.planning.prefix_cache) on a shared context sent to four branches."""

from chainstudio.core.editing.document import Document
from chainstudio.core.planning.advisor import advise
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.storage.fileformat import dumps, load
from tests.conftest import EXAMPLES, ROOT

SHARED = ROOT / "tests" / "data" / "shared-context.chain.json"


def llm_prompts(graph):
    return [str(n.params["prompt"]) for n in graph.nodes.values() if n.kind == "llm"]


def by_kind(report, kind):
    return [a for a in report.advice if a.kind == kind]


def test_a_shared_context_after_each_task_is_put_first_by_one_undoable_edit():
    graph = load(SHARED)
    before = dumps(graph)
    (reorder,) = by_kind(advise(graph, pricing=Pricing()), "prefix_reorder")
    assert reorder.applicable and dumps(graph) == before
    assert "Put document first in 4 prompts" in reorder.title and "share only 19 tokens" in reorder.detail
    assert reorder.cached_tokens > 3 * 779 and reorder.cost_change < 0 and reorder.wall_ms_saved < 0
    assert "gpt-4o-mini's cached-input price ($0.075/M instead of $0.15/M)" in reorder.detail

    doc = Document(graph)
    doc.execute(reorder.make_command())
    assert all(p.startswith("Document:\n{{ document }}\n\nTask: ") for p in llm_prompts(doc.graph))
    after = advise(doc.graph, pricing=Pricing())
    assert not by_kind(after, "prefix_reorder") and by_kind(after, "warm_prefix")
    assert not by_kind(advise(doc.graph, pricing=Pricing(), warm_prefix=True), "warm_prefix")
    doc.undo()
    assert dumps(doc.graph) == before


def test_the_saving_is_priced_at_the_models_cached_input_price():
    graph = load(SHARED)
    free_cache = Pricing({"gpt-4o-mini": {"input": 1.0, "output": 4.0, "cached_input": 0}})
    (reorder,) = by_kind(advise(graph, pricing=free_cache), "prefix_reorder")
    assert f"${reorder.cached_tokens / 1e6:.4f}" in reorder.detail  # every cached token saves its $1/M
    no_discount = Pricing({"gpt-4o-mini": {"input": 1.0, "output": 4.0}})
    (same,) = by_kind(advise(graph, pricing=no_discount), "prefix_reorder")
    assert "saving $0.0000" in same.detail
    local = Pricing().for_endpoint("http://127.0.0.1:8080/v1")
    (free,) = by_kind(advise(graph, pricing=local), "prefix_reorder")
    assert "local server 127.0.0.1" in free.detail and "prefill time" in free.detail


def test_different_paragraphs_or_system_prompts_get_advice_without_an_edit():
    graph = load(SHARED)
    first = next(n for n in graph.nodes.values() if n.kind == "llm")
    first.params["system"] = "Another system prompt."
    (manual,) = by_kind(advise(graph, pricing=Pricing()), "prefix_reorder_manual")
    assert not manual.applicable and "the system prompts the same" in manual.detail


def test_small_or_unshared_contexts_are_not_flagged():
    for name in ("research-parallel", "research-sequential", "research-hybrid"):
        report = advise(load(EXAMPLES / f"{name}.chain.json"), pricing=Pricing())
        assert not [a for a in report.advice if a.kind.startswith(("prefix", "warm"))], name
