"""The CLI's table of a run's steps (one row per step: status, start, duration, TTFT, calls, tokens, cost,
note), live and at the end.

It is laid out here, in one pass over the rows: rich's ``Table`` measured and wrapped every cell, and the
final table of a 10,000-step run took 27 s of a profiled run. At the end the lines are written straight to
the console's file (the status coloured on a terminal); live, they are handed to rich as one styled text
that holds as many rows as the terminal has lines: the steps in progress first, then the ones that ended
last, and a line that counts the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainstudio.core.text_safety import terminal_text

if TYPE_CHECKING:
    from rich.text import Text

COLUMNS = ("Step", "Status", "Start", "Duration", "TTFT", "Calls", "In", "Out", "Cost", "Note")
ENDPOINT = "Endpoint"  # a column after the status, only when a step names an endpoint profile
LEFT = {"Step", "Status", ENDPOINT, "Note"}  # the columns aligned left; the figures are aligned right
GAP = "  "
NOTE_CHARS = 80
IN_PROGRESS = ("running", "retrying", "waiting", "queued")

STYLES = {  # a status's colour
    "succeeded": "green",
    "failed": "red",
    "skipped": "yellow",
    "cancelled": "magenta",
    "running": "cyan",
    "retrying": "yellow",
    "waiting": "blue",
    "queued": "blue",
}
STATUS_STYLES_OF = {
    **STYLES,
    "cached": "cyan",
    "reused": "cyan",
    "pinned": "cyan",
    "not run": "dim",
    "not taken": "dim",
}


def fmt_ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:,.0f}ms"


def fmt_cost(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


def fmt_count(tokens: int, estimated: bool) -> str:
    """A token count, ``~`` in front when it is an offline guess."""
    return f"~{tokens:,}" if estimated else f"{tokens:,}"


def step_row(state: Any, span: Any, now: float, live: bool, endpoints: bool = False) -> list[str]:
    """One step's cells, as they come (not yet made safe for a terminal); ``endpoints``: with its endpoint."""
    from chainstudio.cli.reuse import reuse_note
    from chainstudio.core.gantt.items import map_items_text

    end = span.ended_at if span.ended_at is not None else (now if span.started_at is not None else None)
    duration = None if span.started_at is None or end is None else end - span.started_at
    ttft = None if span.first_token_at is None or not span.attempts else span.first_token_at - span.attempts[-1].start
    calls = span.api_calls or len(span.attempts)
    note = span.error or span.skip_reason or ""
    if live and span.status == "running":
        note = f"{span.deltas} chunks"
    elif span.backoffs and not note:
        note = f"{len(span.backoffs)} retr{'ies' if len(span.backoffs) > 1 else 'y'}: {span.backoffs[-1].reason}"
    elif span.answered_by_other_model and not note:
        note = f"answered by {span.model} (asked for {span.requested_model})"
    elif not note:
        note = verdict_note(span)
    if span.items:  # a map: its items, then what went wrong
        note = map_items_text(span) + (f" · {note}" if note else "")
    status = "not taken" if span.status == "not_taken" else str(span.status)  # a branch no route chose: $0
    guessed = span.tokens_estimated
    reused = reuse_note(span)
    if reused is not None:  # cached, reused from a run, pinned, or not run: not a call of this run
        status, note = reused
    cells = [
        span.name,
        status,
        *((span.endpoint or ("default" if span.kind == "llm" else ""),) if endpoints else ()),
        fmt_ms(state.rel(span.started_at)),
        fmt_ms(duration),
        fmt_ms(ttft),
        str(calls or ""),
        fmt_count(span.input_tokens, guessed) if span.input_tokens else "",
        fmt_count(span.output_tokens, guessed) if span.output_tokens else "",
        fmt_cost(span.cost_usd) if calls else ("$0" if span.status == "not_taken" else ""),
        note[:NOTE_CHARS],
    ]
    return cells


def verdict_note(span: Any) -> str:
    """A checked step's repairs, or a pick-best step's pick and scores, in a few words."""
    if span.scores is not None:
        scored = ", ".join(f"{n} {'—' if s is None else f'{s:g}'}" for n, s, _ in span.scores.scores)
        return f"picked {span.scores.best} ({scored})"
    rejected = [m for m in span.checks if not m.passed]
    if not rejected:
        return f"{span.checks[-1].kind} check passed" if span.checks else ""
    s = "s" if len(rejected) != 1 else ""
    return f"{len(rejected)} repair{s} after {rejected[-1].kind} check: {rejected[-1].reason}"


def live_spans(state: Any, rows: int) -> tuple[list[Any], str]:
    """At most ``rows`` spans for a live view (in progress first, then the latest ended, in plan order) and
    the line that counts the rest ("" when all fit)."""
    spans = list(state.spans.values())
    if len(spans) <= rows:
        return spans, ""
    active = [s for s in spans if s.status in IN_PROGRESS]
    ended = sorted((s for s in spans if s.ended_at is not None), key=lambda s: s.ended_at)
    keep = {id(s) for s in active[:rows]}
    for span in reversed(ended):
        if len(keep) >= rows:
            break
        keep.add(id(span))
    shown = [s for s in spans if id(s) in keep]
    done = sum(1 for s in spans if s.done)
    return shown, f"… {len(spans) - len(shown):,} more steps ({done:,} of {len(spans):,} done)"


def table_lines(state: Any, live: bool = False, rows: int | None = None) -> tuple[list[tuple[str, str, str]], str]:
    """The table laid out: (before the status, the status, after it) per line, the header first, each cell
    made safe for a terminal; and the line counting the steps left out. ``rows``: at most this many steps
    (a live view on a terminal)."""
    spans, more = live_spans(state, rows) if rows is not None else (list(state.spans.values()), "")
    now = state.now()
    endpoints = any(span.endpoint for span in state.spans.values())
    columns = [*COLUMNS[:2], *((ENDPOINT,) if endpoints else ()), *COLUMNS[2:]]
    table = [columns]
    table += [[terminal_text(c) for c in step_row(state, span, now, live, endpoints)] for span in spans]
    widths = [max(_cells(row[i]) for row in table) for i in range(len(columns))]
    left = [column in LEFT for column in columns]
    lines = []
    for row in table:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _cells(cell))
            parts.append(cell + pad if left[i] else pad + cell)
        lines.append((parts[0] + GAP, parts[1], (GAP + GAP.join(parts[2:])).rstrip()))
    return lines, more


def step_table(state: Any, live: bool = False, rows: int | None = None) -> Text:
    """The table as one styled text, for a live view (see ``table_lines``)."""
    from rich.text import Text

    lines, more = table_lines(state, live, rows)
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, (before, status, after) in enumerate(lines):
        if index == 0:
            text.append((before + status + after).rstrip(), style="bold")
        else:
            text.append(before)
            text.append(status, style=STATUS_STYLES_OF.get(status.strip(), ""))
            text.append(after)
        text.append("\n")
    if more:
        text.append(more + "\n", style="dim")
    text.rstrip()
    return text


def print_step_table(console: Any, state: Any) -> None:
    """The final table, written straight to the console's file: one write per line, the status in its colour
    on a terminal that shows colour, each line cut to the terminal's width (a file or a pipe gets it whole)."""
    lines, _ = table_lines(state)
    width = console.width if console.is_terminal else None
    bold, colour = _painters(console)
    out = console.file
    for index, (before, status, after) in enumerate(lines):
        if width is not None and _cells(before + status + after) > width:  # the note or the figures give way
            after = _cut(after, max(1, width - _cells(before + status)))
        if index == 0:
            out.write(bold((before + status + after).rstrip()) + "\n")
        else:
            out.write(before + colour(status) + after + "\n")


def _painters(console: Any) -> tuple[Any, Any]:
    """Functions that wrap text in the terminal's codes for the header and for a status (identity when the
    console shows no colour)."""
    from rich.color import ColorSystem
    from rich.style import Style

    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT, "truecolor": ColorSystem.TRUECOLOR}
    chosen = system.get(console.color_system or "") if console.is_terminal and not console.no_color else None
    if chosen is None:
        return (lambda text: text), (lambda text: text)
    header = Style(bold=True)
    styles = {word: Style.parse(style) for word, style in STATUS_STYLES_OF.items() if style}

    def colour(status: str) -> str:
        style = styles.get(status.strip())
        return style.render(status, color_system=chosen) if style is not None else status

    return (lambda text: header.render(text, color_system=chosen)), colour


def _cut(line: str, width: int) -> str:
    if line.isascii():
        return line[: width - 1] + "…"
    from rich.cells import set_cell_size

    return set_cell_size(line, width - 1) + "…"


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes (wide characters take two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)
