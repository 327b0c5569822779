"""A checked step's judge call reserves its worst case in the run's budget before it is sent, like the step's
own calls (real HTTP against the fake server on 127.0.0.1): refused, the step fails with the budget's reason
and the judge's request never reaches the server; admitted, its reservation is replaced by what it used."""

from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.executor import Run
from chainstudio.core.run.status import StepStatus
from tests.core.run.test_structured_checked import judged_graph, run_on
from tests.support.fake_openai_server import FakeOpenAIServer

TOKEN_CAP = 200  # the step's worst case (its prompt + 50) fits; the judge's (its instructions + 200) does not


def run_capped(url: str, budget: BudgetGuard) -> Run:
    return run_on(url, judged_graph(max_tokens=50), budget=budget)


def test_a_judge_call_that_would_cross_the_token_cap_is_not_sent_and_the_step_fails_saying_so():
    budget = BudgetGuard(token_cap=TOKEN_CAP)
    with FakeOpenAIServer(answers=["kind draft", '{"pass": true, "reason": "ok"}']) as server:
        run = run_capped(server.url, budget)
        stats = server.stats
    assert stats.requests == 1  # the step's answer; its judge was refused before it was sent
    span = run.state.span_by_name("draft")
    assert span.status is StepStatus.FAILED
    error = span.error or ""
    assert error.startswith(f"stopped by the token cap ({TOKEN_CAP}): step 'draft' could use up to ")
    assert error.endswith("(the judge call of its check)")
    assert budget.stop_reason is not None and budget.stop_reason in error
    assert run.state.span_by_name("out").status is StepStatus.SKIPPED
    assert budget.spent_tokens == stats.prompt_tokens + stats.completion_tokens  # nothing held
    assert span.input_tokens + span.output_tokens == budget.spent_tokens


def test_an_admitted_judge_call_is_settled_at_what_the_server_counted():
    budget = BudgetGuard(token_cap=10_000)
    answers = ["rude draft", '{"pass": false, "reason": "rude"}', "kind draft", '{"pass": true, "reason": "ok"}']
    with FakeOpenAIServer(answers=answers) as server:
        run = run_capped(server.url, budget)
        stats = server.stats
    span = run.state.span_by_name("draft")
    assert span.status is StepStatus.SUCCEEDED and span.api_calls == 4
    assert budget.stop_reason is None
    assert budget.spent_tokens == stats.prompt_tokens + stats.completion_tokens
    assert budget.reserve("probe", "x", "m", 10_000 - budget.spent_tokens, 0.0) is None  # no reservation left held
