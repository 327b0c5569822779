"""A server's parallel capacity: how it shares its speed among the requests in flight, simulated and inferred.

The model: a server admits at most ``slots`` requests at once (first come, first served; later ones queue)
and serves the admitted ones with the speed of ``capacity`` requests served alone: with n admitted, each
progresses at min(1, capacity / n) of its solo speed. ``None`` means no limit. A request's solo work is
its time to first token (queue excluded: prefill) and then its generation.

* llama-cpp-python's server: slots = capacity = 1 (one request at a time, the others wait their turn);
* llama-server with 4 slots on one CPU thread: slots 4, capacity 1 (four stream at once, each ~4x slower);
* a hosted API: unlimited.

``ServerSim`` runs that model on a list of requests (the estimate drives it on virtual time, request by
request). ``infer`` finds the (slots, capacity) that best explains recorded attempts: for each candidate
it recovers every attempt's solo times from what was observed (the in-flight counts are known), fits
each model's speed on them (``fit_speed``), replays the recorded arrivals through ``ServerSim`` and
keeps the candidate whose replay is closest to the record. A candidate that explains the record no
better than an unlimited server (within a margin) loses to it: a limit is only claimed when seen.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from chainstudio.core.planning.throughput import most_streaming, shared_capacity

EPS = 1e-9
LIMITS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)  # candidate slot counts (None: unlimited)
MARGIN = 1.15  # a limit must beat the unlimited server's replay error by this factor
SERIAL_MARGIN = 1.25  # where the streams show one at a time, its replay need only not be this much worse
PROBE_ATTEMPTS = 400  # the capacity is judged on the newest recorded calls, this many at most
SAME_ARRIVAL = 2.0  # seconds: requests sent closer together than this may reach the server in any order


# --- the server -------------------------------------------------------------------------------------
@dataclass(eq=False)
class Job:
    """One request on the simulated server: solo seconds to first token and of generation."""

    arrival: float
    ttft: float
    gen: float
    admitted: float | None = None
    first: float | None = None
    end: float | None = None
    left: float = 0.0  # solo seconds left in the current phase


class ServerSim:
    """The slots/capacity model of one server, event by event (times in seconds, any origin)."""

    def __init__(self, slots: int | None, capacity: float | None):
        self.slots = slots
        self.capacity = capacity
        self.now = float("-inf")
        self.queue: deque[Job] = deque()
        self.active: list[Job] = []

    def speed(self) -> float:
        """How fast each admitted request progresses, as a fraction of its solo speed."""
        n = len(self.active)
        return 1.0 if self.capacity is None or n <= self.capacity else self.capacity / n

    def add(self, job: Job) -> None:
        self.advance(job.arrival)
        self.now = max(self.now, job.arrival)
        self.queue.append(job)
        self._admit()

    def next_event(self) -> float | None:
        """When the next request reaches its first token or its end (None: nothing is running)."""
        if not self.active:
            return None
        return self.now + min(j.left for j in self.active) / self.speed()

    def advance(self, t: float) -> None:
        """Move the server to time ``t``, completing every phase that ends on the way."""
        while True:
            nxt = self.next_event()
            if nxt is None or nxt > t:
                break
            self._progress(nxt)
            self._admit()
        if self.now < t < float("inf"):
            self._progress(t)

    def _progress(self, t: float) -> None:
        if self.active:
            step = (t - self.now) * self.speed()
            for job in self.active:
                job.left -= step
        self.now = t
        done = EPS + 1e-12 * abs(t)  # what is left of a phase below the float resolution at ``t``
        for job in list(self.active):
            if job.left <= done and job.first is None:
                job.first, job.left = t, job.gen
            if job.left <= done and job.first is not None:
                job.end = t
                self.active.remove(job)

    def _admit(self) -> None:
        while self.queue and (self.slots is None or len(self.active) < self.slots):
            job = self.queue.popleft()
            job.admitted, job.left = self.now, job.ttft
            self.active.append(job)
            self._progress(self.now)  # a job without work in a phase passes it at once

    def run(self, jobs: Sequence[Job]) -> None:
        """Serve ``jobs`` (arrivals in any order) to the end; their ``first`` and ``end`` are filled in."""
        for job in sorted(jobs, key=lambda j: j.arrival):
            self.add(job)
        self.advance(float("inf"))


# --- what was recorded ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Observed:
    """One recorded attempt on the server. ``usable``: a successful single attempt whose tokens are its
    own, so it can teach the speed; every attempt counts for the requests in flight."""

    start: float
    first: float | None
    end: float
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    usable: bool = False
    key: str = ""  # e.g. the node id, for per-step figures


@dataclass(frozen=True)
class Speed:
    """One model's solo speed on one server: time to first token = ttft + prefill_per_token x input tokens,
    then output tokens at tokens_per_second (None: never seen generating, e.g. answers in one chunk)."""

    ttft: float
    prefill_per_token: float
    tokens_per_second: float | None
    samples: int = 0

    def solo(self, input_tokens: float, output_tokens: float) -> tuple[float, float]:
        first = self.ttft + self.prefill_per_token * input_tokens
        return first, (output_tokens / self.tokens_per_second if self.tokens_per_second else 0.0)

    def seconds(self, input_tokens: float, output_tokens: float) -> float:
        return sum(self.solo(input_tokens, output_tokens))


def fit_speed(samples: Sequence[tuple[float, float, float, float]]) -> Speed | None:
    """Least squares on (input tokens, output tokens, solo ttft, solo generation) samples: ttft as an
    intercept plus a per-input-token prefill (both kept non-negative), and output tokens per second of
    generation, token-weighted."""
    if not samples:
        return None
    xs = [s[0] for s in samples]
    ys = [s[2] for s in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var > 0 else 0.0
    intercept = mean_y - slope * mean_x
    if slope < 0:
        slope, intercept = 0.0, mean_y
    elif intercept < 0:  # through the origin instead
        squares = sum(x * x for x in xs)
        slope, intercept = (sum(x * y for x, y in zip(xs, ys, strict=True)) / squares if squares else 0.0), 0.0
    generating = [(s[1], s[3]) for s in samples if s[1] > 0 and s[3] > EPS]
    gen_time = sum(g for _, g in generating)
    rate = sum(o for o, _ in generating) / gen_time if gen_time > 0 else None
    return Speed(max(0.0, intercept), max(0.0, slope), rate, len(samples))


# --- inference ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hypothesis:
    slots: int | None
    capacity: float | None


UNLIMITED = Hypothesis(None, None)


def served_at_once(slots: int | None, capacity: float | None) -> int | None:
    """How many requests at once are worth sending (a concurrency cap): the slots, or the capacity rounded
    to a whole number of requests (at least one), whichever is smaller; None: no limit."""
    limits = [n for n in (slots, None if capacity is None else max(1, round(capacity))) if n is not None]
    return min(limits) if limits else None


def capacity_text(capacity: float) -> str:
    """A capacity in words: ``1``, ``1.2``."""
    return f"{capacity:.0f}" if abs(capacity - round(capacity)) < 0.05 else f"{capacity:.1f}"


@dataclass
class Inference:
    """The best explanation of the record: the server's slots and capacity, each model's solo speed, and
    every attempt's solo (ttft, generation) under it, run by run."""

    hypothesis: Hypothesis
    speeds: dict[str, Speed]
    solo: list[list[tuple[float, float]]]
    error: float  # the replay's mean absolute error, relative to the attempts' durations
    max_in_flight: int
    errors: dict[Hypothesis, float] = field(default_factory=dict)


def in_flight_peak(run: Sequence[Observed]) -> int:
    points = sorted([(a.start, 1) for a in run] + [(a.end, -1) for a in run], key=lambda p: (p[0], p[1]))
    peak = n = 0
    for _, step in points:
        n += step
        peak = max(peak, n)
    return peak


def streams_one_at_a_time(runs: Sequence[Sequence[Observed]]) -> bool:
    """Requests overlapped (two or more in flight) yet no two ever streamed at once, although answers did
    stream: the mark of a server that serves one request at a time, plainer than any replay error when
    timings are noisy (a busy machine). Answers that come in one piece show nothing either way."""
    overlapped = False
    streamed = 0
    for run in runs:
        overlapped = overlapped or in_flight_peak(run) >= 2
        streams = sorted((a.first, a.end) for a in run if a.first is not None and a.end > a.first)
        streamed += len(streams)
        for (_, end), (first, _) in zip(streams, streams[1:], strict=False):
            if first < end - SAME_ARRIVAL / 10:
                return False
    return overlapped and streamed >= 2


def _arrival_order(run: Sequence[Observed], slots: int | None) -> list[int]:
    """The order the server saw the attempts arrive in. The client's start times order requests sent apart;
    requests sent within ``SAME_ARRIVAL`` seconds of each other race to the server, and a server that queues
    them (slots) reveals which came first by the order it began answering them: their first tokens."""
    order = sorted(range(len(run)), key=lambda i: run[i].start)
    if slots is None:
        return order
    out: list[int] = []
    group: list[int] = []
    for i in order:
        if group and run[i].start - run[group[0]].start > SAME_ARRIVAL:
            out += sorted(group, key=lambda j: _first(run[j]))
            group = []
        group.append(i)
    return out + sorted(group, key=lambda j: _first(run[j]))


def _first(a: Observed) -> float:
    return a.first if a.first is not None else a.end


def _admissions(run: Sequence[Observed], slots: int | None) -> list[float]:
    """When each attempt got a slot: first come first served, a slot freed at a recorded end."""
    order = _arrival_order(run, slots)
    admitted = [0.0] * len(run)
    ends: list[float] = []  # sorted ends of the earlier attempts
    previous = float("-inf")
    for i in order:
        a = run[i]
        at = max(a.start, previous)  # never before an earlier arrival
        if slots is not None:
            later = len(ends) - bisect.bisect_right(ends, at)  # earlier attempts still running at ``at``
            if later >= slots:
                at = ends[len(ends) - slots]
        previous = at
        admitted[i] = min(at, a.first if a.first is not None else a.end)
        bisect.insort(ends, a.end)
    return admitted


def solo_times(run: Sequence[Observed], h: Hypothesis) -> list[tuple[float, float]]:
    """Each attempt's solo (ttft, generation): its admitted time weighted by min(1, capacity / admitted)."""
    admitted = _admissions(run, h.slots)
    changes: dict[float, int] = {}
    for i, a in enumerate(run):
        if a.end > admitted[i]:
            changes[admitted[i]] = changes.get(admitted[i], 0) + 1
            changes[a.end] = changes.get(a.end, 0) - 1
    times = sorted(changes) or [0.0]
    weights = []  # solo seconds per second in each interval [times[k], times[k+1])
    n = 0
    for t in times[:-1]:
        n += changes[t]
        weights.append(1.0 if h.capacity is None or n <= h.capacity else h.capacity / n)
    cumulative = [0.0]
    for k, w in enumerate(weights):
        cumulative.append(cumulative[-1] + w * (times[k + 1] - times[k]))

    def work_until(t: float) -> float:
        k = max(0, min(len(weights) - 1, bisect.bisect_right(times, t) - 1))
        if not weights:
            return 0.0
        return cumulative[k] + weights[k] * (t - times[k])

    out = []
    for i, a in enumerate(run):
        first = a.first if a.first is not None else a.end
        out.append((work_until(first) - work_until(admitted[i]), work_until(a.end) - work_until(first)))
    return out


def _replay_error(
    run: Sequence[Observed], solo: Sequence[tuple[float, float]], h: Hypothesis, speeds: dict[str, Speed]
) -> tuple[float, float]:
    """(absolute error, total duration) of replaying the recorded arrivals through the model."""
    jobs = []
    for a, (ttft, gen) in zip(run, solo, strict=True):
        speed = speeds.get(a.model)
        if a.usable and speed is not None:
            ttft, predicted_gen = speed.solo(a.input_tokens, a.output_tokens)
            gen = predicted_gen if speed.tokens_per_second else gen
        jobs.append(Job(a.start, ttft, gen))
    arrived = float("-inf")
    for i in _arrival_order(run, h.slots):  # the server's arrival order (not always the client's start order)
        jobs[i].arrival = arrived = max(jobs[i].arrival, arrived)
    ServerSim(h.slots, h.capacity).run(jobs)
    error = total = 0.0
    for a, job in zip(run, jobs, strict=True):
        total += a.end - a.start
        error += abs((job.end or a.end) - a.end)
        if a.first is not None and job.first is not None:
            error += abs(job.first - a.first)
    return error, total


def _evaluate(runs: Sequence[Sequence[Observed]], h: Hypothesis, peak: int) -> Inference:
    """Solo times under ``h``, the speeds fitted on them, and how well replaying the record reproduces it."""
    solo = [solo_times(r, h) for r in runs]
    by_model: dict[str, list[tuple[float, float, float, float]]] = {}
    for r, times in zip(runs, solo, strict=True):
        for a, (ttft, gen) in zip(r, times, strict=True):
            if a.usable:
                by_model.setdefault(a.model, []).append((a.input_tokens, a.output_tokens, ttft, gen))
    speeds = {m: s for m, samples in by_model.items() if (s := fit_speed(samples)) is not None}
    error = total = 0.0
    for r, times in zip(runs, solo, strict=True):
        e, t = _replay_error(r, times, h, speeds)
        error, total = error + e, total + t
    return Inference(h, speeds, solo, error / total if total > 0 else 0.0, peak)


def infer(runs: Sequence[Sequence[Observed]], *, limits: bool = True) -> Inference | None:
    """The (slots, capacity) and per-model speeds that best explain ``runs`` (each run's attempts share one
    clock; runs do not overlap one another; newest first). None when nothing was recorded. The capacity is
    judged on the newest runs up to ``PROBE_ATTEMPTS`` calls, the speeds then fitted on all of them.
    ``limits=False``: the server is known to have none (the simulator); only the speeds are fitted.

    For each slot count (none, or each below the most in flight) the capacity is the one at which the
    answers' generation throughput agrees with itself (``throughput.shared_capacity``); of those, the slot
    count whose replay is closest to the record wins where it beats that of no slot limit by ``MARGIN``.
    Where several were in flight but no two answers ever streamed at once, one at a time (unless its replay
    is ``SERIAL_MARGIN`` worse than that of no limit: on a busy machine whose speed moved, all replays are
    poor and the streams say more)."""
    runs = [list(r) for r in runs if r]
    if not runs:
        return None
    peak = max(in_flight_peak(r) for r in runs)
    if not limits:
        return _evaluate(runs, UNLIMITED, peak)
    probe: list[list[Observed]] = []
    for r in runs:
        if probe and sum(map(len, probe)) + len(r) > PROBE_ATTEMPTS:
            break
        probe.append(list(r))
    probe_peak = max(in_flight_peak(r) for r in probe)
    errors: dict[Hypothesis, float] = {}

    def tried(h: Hypothesis) -> Inference:
        found = _evaluate(probe, h, probe_peak)
        errors[h] = found.error
        return found

    unlimited = tried(UNLIMITED)
    if streams_one_at_a_time(probe):  # several in flight, never two streaming at once: one at a time
        serial = tried(Hypothesis(1, 1))
        best = serial if serial.error <= unlimited.error * SERIAL_MARGIN else unlimited
    elif not any(a.first is not None and a.end > a.first for r in probe for a in r):
        best = unlimited  # answers that came in one piece show no throughput: no limit is claimed
    else:  # the capacity from the throughput; a slot limit only where the replay clearly shows it
        streaming = most_streaming(probe)  # fewer streaming than in flight: the rest waited, sharing nothing
        served = streaming if 1 < streaming < probe_peak else None
        best = base = tried(Hypothesis(None, _throughput_capacity(probe, served, probe_peak)))
        for slots in (s for s in LIMITS if s < probe_peak):
            candidate = tried(Hypothesis(slots, _throughput_capacity(probe, slots, probe_peak)))
            if candidate.error * MARGIN <= base.error and candidate.error < best.error - EPS:
                best = candidate
    result = best if len(probe) == len(runs) else _evaluate(runs, best.hypothesis, peak)
    result.max_in_flight, result.errors = peak, errors
    return result


def _throughput_capacity(probe: Sequence[Sequence[Observed]], slots: int | None, peak: int) -> float | None:
    def solo_of(c: float | None) -> list[list[tuple[float, float]]]:
        return [solo_times(r, Hypothesis(slots, c)) for r in probe]

    return shared_capacity(solo_of, probe, min(slots or peak, peak))
