import pytest

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.analysis import layers
from chainstudio.core.graph.model import GraphInput
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.planning.advisor import advise, classify
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.storage.fileformat import dumps, load
from tests.conftest import EXAMPLES
from tests.core.helpers import fan_out


@pytest.mark.parametrize(
    "name,shape",
    [
        ("research-sequential", "sequential"),
        ("research-parallel", "parallel"),
        ("research-hybrid", "hybrid"),
        ("intent-pipeline", "hybrid"),
        ("code-review", "parallel"),
        ("progressive-refinement", "sequential"),
        ("headline-ensemble", "parallel"),
    ],
)
def test_classify_examples(name, shape):
    assert classify(load(EXAMPLES / f"{name}.chain.json"))[0] == shape


def test_sequential_research_advice_removes_ordering_edges_undoably():
    graph = load(EXAMPLES / "research-sequential.chain.json")
    before = dumps(graph)
    report = advise(graph)
    assert report.shape == "sequential"
    top = report.advice[0]
    assert top.kind == "ordering_edges" and top.title == "Remove all 4 edges that carry no data"
    assert "hardware → software" in top.detail and "security → academic" in top.detail
    singles = [a for a in report.advice if a.kind == "ordering_edge"]
    assert [a.title for a in singles] == [
        "Remove hardware → software",
        "Remove software → commercial",
        "Remove commercial → security",
        "Remove security → academic",
    ]
    assert all(a.wall_ms_saved > 0 for a in singles)
    assert dumps(graph) == before  # advising changes nothing

    doc = Document(graph)
    doc.execute(top.make_command())
    assert errors(validate(doc.graph)) == []
    names = doc.graph.names()
    assert sorted(names[n] for n in layers(doc.graph)[1]) == [
        "academic",
        "commercial",
        "hardware",
        "security",
        "software",
    ]
    after = estimate(doc.graph)
    assert top.wall_ms_saved == pytest.approx(report.baseline.wall_ms - after.wall_ms)
    assert after.wall_ms < report.baseline.wall_ms / 2
    doc.undo()
    assert dumps(doc.graph) == before


def test_shared_large_context_is_flagged_with_duplicated_tokens():
    graph = fan_out(3)
    graph.inputs = [GraphInput("topic", " ".join(["context"] * 400))]
    report = advise(graph)
    (shared,) = [a for a in report.advice if a.kind == "shared_context"]
    assert shared.title == "topic is sent in full to 3 steps"
    assert "800 duplicated input tokens" in shared.detail
    assert shared.tokens_change < -500  # trimming the context for the branches saves tokens
    doc = Document(graph)
    doc.execute(shared.make_command())
    assert "truncate_tokens(120)" in doc.graph.resolve("b0").params["prompt"]


def test_the_duplicated_context_is_priced_at_the_model_the_run_would_use():
    graph = fan_out(3)
    graph.inputs = [GraphInput("topic", " ".join(["context"] * 400))]
    own = {str(graph.nodes[n].param("model")) for n in graph.nodes if graph.nodes[n].kind == "llm"}
    other = "gpt-4o-mini" if "gpt-4o-mini" not in own else "gpt-4o"
    (shared,) = [a for a in advise(graph, model=other).advice if a.kind == "shared_context"]
    cost = Pricing().cost_usd(other, 400, 0)
    assert cost is not None and f"(${2 * cost:.4f})" in shared.detail
    (plain,) = [a for a in advise(graph).advice if a.kind == "shared_context"]
    assert plain.detail != shared.detail


def test_concurrency_from_rate_limits():
    graph = load(EXAMPLES / "research-parallel.chain.json")
    unlimited = advise(graph).advice[-1]
    assert unlimited.kind == "concurrency" and unlimited.concurrency == 5
    limited = advise(graph, rate_limits=RateLimits(requests_per_minute=60)).advice[-1]
    mean_seconds = limited.detail.split("Calls take ")[1].split(" s")[0]
    assert limited.concurrency == max(1, min(5, int(60 * float(mean_seconds) / 60)))
    tight = advise(graph, rate_limits=RateLimits(tokens_per_minute=500)).advice[-1]
    assert tight.concurrency == 1


def test_many_ordering_edges_are_advised_a_few_one_by_one_and_all_together():
    from chainstudio.core.graph.model import Graph
    from chainstudio.core.planning.advisor import EDGES_ADVISED, EDGES_NAMED

    graph = Graph("chain")  # 30 steps in a line, none reading the one before: 29 ordering-only edges
    for i in range(30):
        graph.add("llm", f"s{i}", prompt=f"Say {i}.")
        if i:
            graph.connect(f"s{i - 1}", f"s{i}")
    report = advise(graph)
    singles = [a for a in report.advice if a.kind == "ordering_edge"]
    assert [a.title for a in singles] == [f"Remove s{i - 1} → s{i}" for i in range(1, EDGES_ADVISED + 1)]
    together = next(a for a in report.advice if a.kind == "ordering_edges")
    assert together.title == "Remove all 29 edges that carry no data"
    assert f"and {29 - EDGES_NAMED} more" in together.detail
    assert f"s{EDGES_NAMED - 1} → s{EDGES_NAMED}" in together.detail
    assert f"s{EDGES_NAMED} → s{EDGES_NAMED + 1}" not in together.detail
    doc = Document(graph)
    doc.execute(together.make_command())
    assert len(doc.graph.edges) == 0
