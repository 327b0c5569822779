"""The CLI's step table is laid out by hand (rich's Table took 2.7 ms a row: 27 s for 10,000 steps): one
row per step with the figures of ``RunState``, columns aligned, statuses coloured only on a terminal, lines
cut only on a terminal; live, at most the rows a terminal shows."""

from __future__ import annotations

import asyncio
import io
import re

from rich.cells import cell_len
from rich.console import Console

from chainstudio.cli.step_table import print_step_table, step_table, table_lines
from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers.factory import make_provider
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.virtual_time import run_virtual


def finished_state(steps: int):
    graph = Graph("t", inputs=[GraphInput("topic", "tables")])
    previous = graph.add("input", "topic", input="topic")
    for i in range(steps):
        step = graph.add("llm", f"step_{i}" + ("_名前" if i == 1 else ""), prompt=f"About {{{{ {previous.name} }}}}.")
        graph.connect(previous.id, step.id)
        previous = step

    async def go():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = make_provider("simulated", clock=clock, seed=1)
        return await Run(graph, RunContext(provider=provider, clock=clock, pricing=Pricing())).execute()

    return run_virtual(go())


def test_one_aligned_row_per_step_with_its_figures():
    state = finished_state(3)
    out = io.StringIO()
    print_step_table(Console(file=out, width=200, force_terminal=False), state)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["Step", "Status", "Start", "Duration", "TTFT", "Calls", "In", "Out", "Cost", "Note"]
    assert len(lines) == 1 + len(state.spans)
    assert "\x1b" not in out.getvalue()  # a file gets no colour codes
    for line, span in zip(lines[1:], state.spans.values(), strict=True):
        assert line.startswith(span.name) and " succeeded " in line
        if span.kind == "llm":
            assert f"{span.output_tokens:,}" in line and f"${span.cost_usd:.4f}" in line
    ends = {cell_len(line) for line in lines[2:]}  # right-aligned figures end in one column (a wide name too)
    assert len(ends) == 1


def test_a_terminal_gets_colour_and_lines_cut_to_its_width():
    state = finished_state(2)
    out = io.StringIO()
    print_step_table(Console(file=out, width=40, force_terminal=True, color_system="standard"), state)
    text = out.getvalue()
    assert "\x1b[32msucceeded" in text  # green
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]
    assert all(len(line) <= 40 for line in plain) and any(line.endswith("…") for line in plain)


def test_live_the_table_keeps_to_the_rows_a_terminal_shows():
    state = finished_state(30)
    lines, more = table_lines(state, rows=10)
    assert len(lines) == 1 + 10
    assert more == f"… {len(state.spans) - 10:,} more steps ({len(state.spans):,} of {len(state.spans):,} done)"
    shown = [line[0].split()[0] for line in lines[1:]]
    assert shown[-1] == "step_29"  # the steps that ended last
    assert str(step_table(state, live=True, rows=10)).splitlines()[-1] == more
