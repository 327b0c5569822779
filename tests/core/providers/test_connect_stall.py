"""A connect timeout while this process's own event loop is held is not the server's: the request connects
again instead of failing "no response in time" (issue 17's scale benchmark lost 249 of 10,000 rows so, on a
busy machine). Real HTTP against the fake server on 127.0.0.1; the loop is held by a task that sleeps
without yielding, as a busy batch does."""

from __future__ import annotations

import asyncio
import time

from chainstudio.core.providers.base import ChatRequest, ProviderError
from chainstudio.core.providers.loop_lag import LoopLag, for_loop
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from tests.support.fake_openai_server import FakeOpenAIServer

CALLS = 40
HOLD = 1.0  # seconds the loop is held at a time: twice the connect timeout
CONNECT_TIMEOUT = 0.5  # long enough that a busy machine alone does not time a connect out


async def hold_the_loop(times: int) -> None:
    for _ in range(times):
        time.sleep(HOLD)
        await asyncio.sleep(0)


def test_connects_timed_out_by_our_own_held_loop_are_made_again_and_every_call_succeeds():
    with FakeOpenAIServer(chunk_delay=0) as server:
        provider = OpenAICompatProvider(
            OpenAISettings(base_url=server.url, api_key="sk-test", connect_timeout=CONNECT_TIMEOUT)
        )

        async def call(i: int) -> str:
            request = ChatRequest(model="gpt-4o-mini", messages=({"role": "user", "content": f"hi {i}"},))
            try:
                return (await provider.stream_chat(request, lambda text, t: None)).text
            except ProviderError as exc:
                return f"failed: {exc}"

        async def main() -> list[str]:
            holder = asyncio.create_task(hold_the_loop(6))  # the calls connect between holds
            answers = await asyncio.gather(*(call(i) for i in range(CALLS)))
            await holder
            await provider.aclose()
            return list(answers)

        answers = asyncio.run(main())
        sent = len(server.stats.log)
    failed = [a for a in answers if a.startswith("failed")]
    assert failed == [], failed[:3]  # without the fix: "no response from ... in time" for the held connects
    assert sent == CALLS


def test_the_heartbeat_counts_a_held_loop_and_not_a_free_one():
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        with LoopLag(loop).watching() as lag:
            start = loop.time()
            await asyncio.sleep(0.3)
            free = lag.stalled_since(start)
            held_from = loop.time()
            time.sleep(0.3)
            return free, lag.stalled_since(held_from)

    free, held = asyncio.run(main())
    assert free == 0.0
    assert held >= 0.3


def _beats_scheduled(loop: asyncio.AbstractEventLoop) -> int:
    """The loop's timers that are a LoopLag heartbeat (not cancelled)."""
    handles = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    return sum(1 for h in handles if getattr(h._callback, "__self__", None).__class__ is LoopLag)


def test_the_heartbeat_is_scheduled_only_while_a_request_connects_not_while_idle():
    with FakeOpenAIServer(chunk_delay=0) as server:
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key="sk-test"))

        async def main() -> tuple[int, bool, int, bool]:
            loop = asyncio.get_running_loop()
            request = ChatRequest(model="gpt-4o-mini", messages=({"role": "user", "content": "hi"},))
            call = asyncio.create_task(provider.stream_chat(request, lambda text, t: None))
            await asyncio.sleep(0)  # the call has begun to connect
            connecting = _beats_scheduled(loop), for_loop(loop).beating
            await call
            await asyncio.sleep(0.25)  # idle: more than two heartbeat periods
            idle = _beats_scheduled(loop), for_loop(loop).beating
            await provider.aclose()
            return (*connecting, *idle)

        during, beating, after, still = asyncio.run(main())
    assert (during, beating) == (1, True)
    assert (after, still) == (0, False)  # before: a heartbeat every 0.1 s for the loop's whole life


def test_nested_watchers_share_one_heartbeat_and_the_last_one_out_stops_it():
    async def main() -> list[tuple[int, bool]]:
        loop = asyncio.get_running_loop()
        lag = LoopLag(loop)
        seen = [(_beats_scheduled(loop), lag.beating)]
        with lag.watching():
            with lag.watching():
                await asyncio.sleep(0.15)  # a beat ran and scheduled the next one
                seen.append((_beats_scheduled(loop), lag.beating))
            seen.append((_beats_scheduled(loop), lag.beating))
        seen.append((_beats_scheduled(loop), lag.beating))
        return seen

    assert asyncio.run(main()) == [(0, False), (1, True), (1, True), (0, False)]
