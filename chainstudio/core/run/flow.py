"""The executor's hook for the steps that shape a run's flow: map (``map_step``) and route (``route``).

``FlowSteps.admit`` begins such a step when the scheduler releases it: a route in expression mode
decides at once (no call); a classifying route and a map wait for a concurrency slot like a model step,
and their work (``ClassifyingRoute``, ``MapStep``) runs in the step's task, on the services of the endpoint
the step names (``services_of``: ``lanes.Lanes.services``). An estimate may force what
these steps do (``RunContext.forced_items`` and ``forced_routes``): a map then runs its expected number of
placeholder items, a route takes the given branches, so the estimate's virtual run plays them out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from chainstudio.core.graph.model import Node
from chainstudio.core.graph.templating import TemplateProblem
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import AttemptServices
from chainstudio.core.run.inputs import StepInputs
from chainstudio.core.run.map_step import ItemAllowance, MapStep
from chainstudio.core.run.route import (
    ClassifyingRoute,
    branch_names,
    classify_prompt,
    decide,
    label_schema,
    labels_of,
    not_taken_reason,
)
from chainstudio.core.run.scheduler import Scheduler
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.structured import response_format
from chainstudio.core.tokens import count_tokens

Pending = MapStep | ClassifyingRoute


class FlowSteps:
    """Map and route steps of one run."""

    def __init__(
        self,
        services: AttemptServices,
        inputs: StepInputs,
        scheduler: Scheduler,
        *,
        count_tokens: bool,
        forced_items: Mapping[str, int] | None = None,
        forced_routes: Mapping[str, tuple[str, ...]] | None = None,
        services_of: Callable[[Node], AttemptServices] | None = None,
    ):
        self.services, self.inputs, self.scheduler = services, inputs, scheduler
        self.services_of = services_of or (lambda node: services)
        self.count_tokens = count_tokens
        self.forced_items = forced_items or {}
        self.forced_routes = forced_routes
        self.started: dict[str, Pending] = {}  # by step: what they used, when the run is stopped
        self.allowance = ItemAllowance()  # the items all maps of the run may take

    def admit(self, node: Node, pending: dict[str, Pending | object]) -> StepStatus | None:
        """Begin ``node``: its final status when it ends at once, else None (its work is in ``pending``)."""
        try:
            if node.kind == "map":
                pending[node.id] = self._map(node)
                return None
            return self._route(node, pending)
        except TemplateProblem as exc:
            s = self.services
            s.emit(ev.NodeFailed(s.run_id, s.clock.now(), node.id, exc.message))
            return StepStatus.FAILED

    def _map(self, node: Node) -> MapStep:
        scheduler, step = self.scheduler, node.id
        expected = self.forced_items.get(step) if self.forced_items else None
        map_step = MapStep(
            self.services_of(node),
            self.inputs,
            node,
            count_tokens=self.count_tokens,
            request_slot=lambda grant: scheduler.request_slot(step, grant),
            withdraw=scheduler.withdraw,
            release_slot=scheduler.release_slot,
            expected_items=expected,
            run_stopped=lambda: scheduler.stopped,
            allowance=self.allowance,
        )
        self.started[step] = map_step
        return map_step

    def _branches(self, node: Node) -> dict[str, str]:
        plan = self.inputs.plan
        return {plan.graph.nodes[nid].name: nid for nid in plan.succs[node.id]}

    def _route(self, node: Node, pending: dict[str, Pending | object]) -> StepStatus | None:
        s, branches = self.services_of(node), self._branches(node)
        forced = self.forced_routes.get(node.id) if self.forced_routes is not None else None
        if str(node.param("mode")) == "classify":  # an estimate's forced branches still pay for the call
            labels = labels_of(node)
            call = self.inputs.prepare_call(node, count=self.count_tokens)
            prompt = classify_prompt(call.prompt, labels)
            messages = (*call.request.messages[:-1], {"role": "user", "content": prompt})
            if call.estimated_tokens:
                call.estimated_tokens += count_tokens(prompt) - count_tokens(call.prompt)
            call.prompt = prompt
            structured = response_format(label_schema(labels), node.name)  # {"label": ...}, as a step's schema
            call.request = replace(call.request, messages=messages, choices=tuple(labels), response_format=structured)
            route = ClassifyingRoute(s, node, call, branches, self._chooser(node.id), forced)
            pending[node.id] = self.started[node.id] = route
            return None
        chosen = list(forced) if forced is not None else branch_names(self.inputs.render(node, "expression"))
        not_taken, problem = decide(chosen, branches, node.name)
        if problem is not None:
            s.emit(ev.NodeFailed(s.run_id, s.clock.now(), node.id, problem))
            return StepStatus.FAILED
        self.scheduler.choose(node.id, not_taken, not_taken_reason(node.name, chosen))
        output = self.inputs.outputs[node.id] = ", ".join(chosen)
        s.emit(ev.NodeFinished(s.run_id, s.clock.now(), node.id, output))
        return StepStatus.SUCCEEDED

    def _chooser(self, route: str) -> Callable[..., None]:
        def choose(not_taken: list[str], reason: str) -> None:
            self.scheduler.choose(route, not_taken, reason)

        return choose
