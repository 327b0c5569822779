"""How a run ended, in one summary: its status, a message and the outputs it returns.

The outputs are those of the output steps that succeeded (a graph without output steps returns its
sinks'). The status is ``cancelled`` when the run was cancelled, ``succeeded`` when every step succeeded
(or was on a branch a route did not take),
else ``partial`` when some output came back and ``failed`` when none did. The message says why: the
cancel reason, the budget that stopped the run, or which steps failed and how many were skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chainstudio.core.run.status import RunStatus, StepStatus
from chainstudio.core.run.topology import Plan


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # output step's name -> its text


def output_steps(plan: Plan) -> list[str]:
    """The steps whose outputs the run returns: its output steps, or its sinks when it has none."""
    nodes = plan.graph.nodes
    outs = [nid for nid in plan.ids if nodes[nid].kind == "output"]
    return outs or plan.sinks()


def summarize(
    plan: Plan,
    statuses: Mapping[str, StepStatus],
    outputs: Mapping[str, str],
    *,
    cancel_reason: str | None = None,
    budget_stop: str | None = None,
) -> Outcome:
    """The outcome of a run whose steps ended with ``statuses`` (in the order they ended) and ``outputs``."""
    nodes = plan.graph.nodes
    returned = {
        nodes[nid].name: outputs[nid]
        for nid in output_steps(plan)
        if statuses.get(nid) is StepStatus.SUCCEEDED and nid in outputs
    }
    if cancel_reason is not None:
        return Outcome(RunStatus.CANCELLED, cancel_reason, returned)
    if all(s is StepStatus.SUCCEEDED or s is StepStatus.NOT_TAKEN for s in statuses.values()):
        status = RunStatus.SUCCEEDED
    else:
        status = RunStatus.PARTIAL if returned else RunStatus.FAILED
    return Outcome(status, _message(plan, statuses, budget_stop), returned)


def _message(plan: Plan, statuses: Mapping[str, StepStatus], budget_stop: str | None) -> str:
    if budget_stop is not None:
        return budget_stop[:1].upper() + budget_stop[1:]
    failed = [plan.graph.nodes[nid].name for nid, s in statuses.items() if s is StepStatus.FAILED]
    if not failed:
        return ""
    skipped = sum(1 for s in statuses.values() if s is StepStatus.SKIPPED)
    return f"{len(failed)} failed ({', '.join(failed)}), {skipped} skipped"
