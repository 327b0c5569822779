"""The virtual-time loop: timers jump, worker threads take no virtual time."""

from __future__ import annotations

import asyncio
import time

from chainstudio.core.run.virtual_time import run_virtual


def test_timers_jump_to_their_time():
    async def main() -> float:
        await asyncio.sleep(120.0)
        return asyncio.get_running_loop().time()

    assert run_virtual(main()) == 120.0


def test_work_in_a_thread_takes_no_virtual_time():
    async def main() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        timer = asyncio.ensure_future(asyncio.sleep(1.0))  # a timeout that must not fire while the thread works
        await asyncio.to_thread(time.sleep, 0.05)
        now, fired = loop.time(), timer.done()
        await timer
        return now, fired

    now, fired = run_virtual(main())
    assert now == 0.0 and not fired
