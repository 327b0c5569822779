"""LatestTask: one owned task at a time, the latest wins, and a cancellation is reported before it is done."""

import asyncio

import pytest

from chainstudio.ui.common.tasks import LatestTask


def test_starting_again_cancels_the_task_before():
    async def main():
        owner = LatestTask(name="work")
        gate = asyncio.Event()
        first = owner.start(gate.wait)
        await asyncio.sleep(0)
        second = owner.start(lambda: asyncio.sleep(0, result="second"))
        assert owner.task is second and owner.running
        assert await second == "second"
        assert first.cancelled() and not owner.running
        assert second.get_name() == "work"

    asyncio.run(main())


@pytest.mark.parametrize("began", [False, True], ids=["before its first step", "while it awaits"])
def test_the_cancellation_is_reported_before_the_task_is_done(began):
    async def main():
        seen = []
        owner = LatestTask()
        owner.on_cancelled = lambda: seen.append(owner.task.done())
        task = owner.start(asyncio.Event().wait)
        if began:
            await asyncio.sleep(0)
        assert owner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled() and seen == [False]  # called once, inside the task, before it was done
        assert not owner.cancel()  # nothing left to cancel

    asyncio.run(main())


def test_a_task_cancelled_before_it_began_never_makes_its_coroutine():
    async def main():
        made = []

        async def work():
            made.append(True)

        owner = LatestTask()
        task = owner.start(work)
        owner.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and made == []

    asyncio.run(main())


def test_results_and_errors_come_through_the_task():
    async def main():
        owner = LatestTask(on_cancelled=lambda: pytest.fail("not cancelled"))

        async def boom():
            raise ValueError("boom")

        assert await owner.start(lambda: asyncio.sleep(0, result=7)) == 7
        task = owner.start(boom)
        with pytest.raises(ValueError, match="boom"):
            await task
        assert not owner.running and not owner.cancel()

    asyncio.run(main())
