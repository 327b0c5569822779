"""The real-server tier: tests against a real local LLM server (``tests/real_server/server.py`` builds and
starts it). They run when ``CHAINSTUDIO_REAL_SERVER_TESTS=1`` (``.ci/run`` sets it, after building the
servers); then a server that cannot be built or started FAILS the tier, and so does a skipped or missing
test, so the tier can never pass by not running. Without the variable every test here is skipped, with
the reason. ``CHAINSTUDIO_REAL_SERVER_KINDS`` (default both: ``llama-cpp-python,llama-server``) picks the
servers; ``CHAINSTUDIO_REAL_SERVER_PORT`` a first port (default: free ports the OS gives).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.real_server.server import KINDS, RunningServer, ServerError, start

REQUESTED = os.environ.get("CHAINSTUDIO_REAL_SERVER_TESTS") == "1"
_outcomes: dict[str, int] = {"passed": 0, "skipped": 0, "failed": 0}


def kinds() -> list[str]:
    wanted = os.environ.get("CHAINSTUDIO_REAL_SERVER_KINDS") or ",".join(KINDS)
    return [k.strip() for k in wanted.split(",") if k.strip()]


def _port(index: int) -> int:
    first = os.environ.get("CHAINSTUDIO_REAL_SERVER_PORT")
    if first:
        return int(first) + index
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.real_server)
            if not REQUESTED:
                item.add_marker(
                    pytest.mark.skip(
                        reason="real-server tier: set CHAINSTUDIO_REAL_SERVER_TESTS=1 to run it (.ci/run does; it "
                        "builds the servers with python -m tests.real_server.server setup first)"
                    )
                )


@pytest.fixture(scope="session", params=kinds())
def real_server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    kind = str(request.param)
    try:
        server = start(kind, _port(kinds().index(kind)))
    except (ServerError, OSError) as exc:
        pytest.fail(f"the {kind} server could not be built or started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "real_server" not in report.keywords:
        return
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.outcome] = _outcomes.get(report.outcome, 0) + 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Requested, the tier passes only if its tests ran and passed: none skipped, none missing."""
    if not REQUESTED:
        return
    if _outcomes["skipped"] or not _outcomes["passed"]:
        print(
            f"\nreal-server tier requested but {_outcomes['skipped']} test(s) skipped and {_outcomes['passed']} "
            "passed: failing the session (the tier must never pass by not running)"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
