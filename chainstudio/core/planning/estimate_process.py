"""A big graph's estimate in a child process of its own, so that the window keeps neither its memory nor
its interpreter lock.

The estimate simulates the whole run: for 10,000 steps and 100,000 edges about 90 MB while it runs, most of
it kept by the allocators afterwards (the window settled at 583 MB), and on a worker thread it shared
Python's lock with the window's thread. ``EstimateProcess.run`` (blocking: call it on a thread of its own)
starts ``python -m chainstudio.core.planning.estimate_process`` (a fresh interpreter: nothing of the window
is forked, and the child imports no Qt), sends it the graph and the options in pieces (``estimate_wire``),
and reads back the figures and the per-step table; the simulated run's state stays in the child, which then
exits. ``stop`` kills the child (the estimate is no longer wanted, or the window closes); a child that dies,
or takes longer than ``TIMEOUT_S``, gives an ``EstimateProcessError`` with a one-line reason. The child runs
at a lower priority (``NICE``) and exits by itself when the window's end of its input closes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.estimate import Estimate, estimate
from chainstudio.core.planning.estimate_wire import (
    CacheSpec,
    EstimateReader,
    GraphReader,
    WireClosed,
    estimate_frames,
    graph_frames,
    read_frame,
    write_frame,
)
from chainstudio.core.text_safety import scrub

TIMEOUT_S = 600.0  # the whole estimate, start-up included (10,000 steps: 6-20 s on a loaded machine)
NICE = 10  # the child's priority below the window's: the window's thread comes first for a core
_SOURCE = str(Path(__file__).resolve().parents[3])  # the folder holding the chainstudio package


class EstimateProcessError(ChainStudioError):
    """The child gave no estimate: it died, hung or could not start. The message is one line; ``short`` says
    it in a few words (the run toolbar's label)."""

    def __init__(self, message: str, short: str = "no estimate") -> None:
        super().__init__(message)
        self.short = short


class EstimateFailed(ChainStudioError):
    """The estimate itself failed in the child (as ``estimate`` raises in the window's process)."""


def available() -> bool:
    """Whether this program can start a Python child (a frozen app cannot: it estimates on a thread)."""
    return not getattr(sys, "frozen", False) and bool(sys.executable)


def can_send(options: dict[str, Any]) -> bool:
    """Whether ``options`` (``estimate``'s keywords) can go to a child: a step cache only as a SQLite store."""
    cache = options.get("cache")
    return cache is None or CacheSpec.of(cache) is not None


class EstimateProcess:
    """One estimate in one child process. ``child_peak_mb``: the child's peak resident memory once it ended."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self.timeout_s = TIMEOUT_S if timeout_s is None else timeout_s
        self.child_peak_mb: float | None = None
        self.qt_in_child: bool | None = None  # whether the child had Qt loaded (tests ask: it must not)
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._timed_out = False

    def stop(self) -> None:
        """Kill the child (any thread); ``run`` then raises."""
        with self._lock:
            self._stopped = True
            if self._child is not None and self._child.poll() is None:
                self._child.kill()

    def _expire(self) -> None:
        self._timed_out = True
        self.stop()

    def run(self, graph: Graph | list[bytes], options: dict[str, Any]) -> Estimate:
        """``estimate(graph, **options)`` in a child (blocks; ``options`` without ``checkpoint``). ``graph``: the
        graph, or its frames already encoded (``estimate_wire.encode`` of each of ``graph_frames``)."""
        options = dict(options)
        cache = options.pop("cache", None)
        spec = None if cache is None else CacheSpec.of(cache)
        if cache is not None and spec is None:
            raise EstimateProcessError("the step cache cannot be looked at from another process", "no estimate")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_SOURCE, os.environ.get("PYTHONPATH")) if p)}
        with self._lock:
            if self._stopped:
                raise EstimateProcessError("the estimate was stopped", "estimate stopped")
            try:
                child = subprocess.Popen(
                    [sys.executable, "-m", "chainstudio.core.planning.estimate_process"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            except OSError as exc:
                raise EstimateProcessError(
                    f"the estimate's process could not start: {one_line(str(exc))}", "estimate did not start"
                ) from exc
            self._child = child
        watchdog = threading.Timer(self.timeout_s, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._exchange(child, graph, options, spec)
        finally:
            watchdog.cancel()
            self._end(child)

    def _exchange(
        self,
        child: subprocess.Popen[bytes],
        graph: Graph | list[bytes],
        options: dict[str, Any],
        spec: CacheSpec | None,
    ) -> Estimate:
        assert child.stdin is not None and child.stdout is not None
        reader = EstimateReader()
        try:
            write_frame(child.stdin, ("options", options, spec))
            for frame in graph_frames(graph) if isinstance(graph, Graph) else ():
                write_frame(child.stdin, frame)
            for data in graph if isinstance(graph, list) else ():
                child.stdin.write(data)
            write_frame(child.stdin, ("go",))
            child.stdin.flush()
            while True:
                message = read_frame(child.stdout)
                if message[0] == "end":
                    self.qt_in_child = bool(message[1].get("qt"))
                    self.child_peak_mb = message[1].get("peak_mb")
                    return reader.result()
                if message[0] == "error":
                    raise EstimateFailed(one_line(str(message[1])))
                reader.take(message)
        except (WireClosed, BrokenPipeError, OSError, ValueError) as exc:
            raise self._why(child) from exc

    def _why(self, child: subprocess.Popen[bytes]) -> EstimateProcessError:
        if self._timed_out:
            return EstimateProcessError(
                f"the estimate's process took over {self.timeout_s:.0f} s and was stopped",
                f"estimate stopped after {self.timeout_s:.0f} s",
            )
        if self._stopped:
            return EstimateProcessError("the estimate was stopped", "estimate stopped")
        try:
            code = child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return EstimateProcessError("the estimate's process stopped answering", "estimate not answering")
        return EstimateProcessError(
            f"the estimate's process ended unexpectedly (exit code {code})", f"estimate's process died ({code})"
        )

    def _end(self, child: subprocess.Popen[bytes]) -> None:
        for stream in (child.stdin, child.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            child.wait(timeout=5)  # (it exits once its input closes)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def one_line(text: str) -> str:
    """``text`` on one line, at most 300 characters, without any registered secret (``text_safety.scrub``)."""
    flat = " ".join(scrub(text).split())
    return flat if len(flat) <= 300 else flat[:299] + "…"


def _peak_mb() -> float | None:
    """This process's peak resident memory (``VmHWM``; None where the system does not say). Not ``ru_maxrss``:
    on Linux a child started from the window inherits the window's figure through ``execve``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _exit_with_input(stream: IO[bytes]) -> None:
    """In the child: end at once when the window's end of the input closes (it quit, or stopped us)."""
    while stream.read(65536):
        pass
    os._exit(0)


def main() -> int:
    """The child: read the options and the graph, estimate, write the result, end."""
    out = os.fdopen(os.dup(1), "wb")  # frames only on the real stdout; stray prints go to stderr
    os.dup2(2, 1)
    source = sys.stdin.buffer
    with contextlib.suppress(AttributeError, OSError):  # (no os.nice on Windows)
        os.nice(NICE)
    try:
        head = read_frame(source)
        options, spec = head[1], head[2]
        reader = GraphReader()
        while (message := read_frame(source))[0] != "go":
            reader.take(message)
    except (WireClosed, ValueError):
        return 1
    threading.Thread(target=_exit_with_input, args=(source,), daemon=True).start()
    if spec is not None:
        options["cache"] = spec.open()
    try:
        result = estimate(reader.graph, **options)
    except Exception as exc:  # noqa: BLE001 - said in one line to the window
        write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
    else:
        for frame in estimate_frames(result):
            write_frame(out, frame)
        qt = any(m.split(".")[0] == "PySide6" for m in sys.modules)
        write_frame(out, ("end", {"qt": qt, "peak_mb": _peak_mb()}))
    out.flush()
    return 0


if __name__ == "__main__":
    os._exit(main())  # at once: tearing down the simulated run's objects took seconds the window waited for
