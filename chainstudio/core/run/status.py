"""Typed statuses of one step and of one run.

Both are ``StrEnum``: a member equals, prints, formats and JSON-encodes as its plain value
(``StepStatus.SUCCEEDED == "succeeded"``), so records, exports and the run history read the same as
when the statuses were strings, and a status decoded from an older history compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    """Where one step of a run is; the last six are final."""

    PENDING = "pending"  # not yet released (dependencies, layer barrier or turn)
    QUEUED = "queued"  # released: its dependencies are done
    WAITING = "waiting"  # ready, waiting for a concurrency slot or a rate limit
    RUNNING = "running"  # an attempt is in flight
    RETRYING = "retrying"  # backing off before the next attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # never ran: an upstream step did not succeed, or a budget stopped the run
    CANCELLED = "cancelled"
    NOT_RUN = "not_run"  # outside a partial run ("run from here" and friends): never considered
    NOT_TAKEN = "not_taken"  # on a branch a route did not choose: never ran, costs nothing (not a failure)

    @property
    def done(self) -> bool:
        return self in DONE_STEP_STATUSES


DONE_STEP_STATUSES = frozenset(
    {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
        StepStatus.CANCELLED,
        StepStatus.NOT_RUN,
        StepStatus.NOT_TAKEN,
    }
)


class RunStatus(StrEnum):
    """Where a run is: idle (no run yet) and running, then one of the four outcomes."""

    IDLE = "idle"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every step succeeded
    PARTIAL = "partial"  # some output steps succeeded, something else did not
    FAILED = "failed"  # no output step succeeded
    CANCELLED = "cancelled"
