"""After-response Stripe customers go to Stripe in batches (system/provisioning/follow_ups.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from system.provisioning.follow_ups import StripeFollowUps, _awaited


class Recorder:
    """Stands in for the service's batch sync: records each batch, answers per row."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    async def __call__(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        ids = [row["customer_id"] for row in rows]
        self.batches.append(ids)
        await asyncio.sleep(0.01)  # the Stripe calls take a while
        if self.fail_on in ids:
            raise RuntimeError("database away")
        return {customer_id: f"cus_{customer_id}" for customer_id in ids if customer_id != "x"}


def _row(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id}


def test_signups_answered_meanwhile_go_in_one_batch() -> None:
    async def scenario() -> tuple[list[str | None], list[list[str]]]:
        sync = Recorder()
        follow_ups = StripeFollowUps(sync, batch=3)
        first = asyncio.create_task(follow_ups.create(_row("a")))
        await asyncio.sleep(0)  # a's batch is under way; b-e wait for it to end
        rest = [asyncio.create_task(follow_ups.create(_row(n))) for n in "bcdx"]
        return list(await asyncio.gather(first, *rest)), sync.batches

    results, batches = asyncio.run(scenario())
    assert results == ["cus_a", "cus_b", "cus_c", "cus_d", None]  # x: not recorded
    assert batches == [["a"], ["b", "c", "d"], ["x"]]


def test_a_failing_batch_fails_its_own_signups_only() -> None:
    async def scenario() -> list[Any]:
        follow_ups = StripeFollowUps(Recorder(fail_on="b"), batch=2)
        first = asyncio.create_task(follow_ups.create(_row("a")))
        await asyncio.sleep(0)
        rest = [asyncio.create_task(follow_ups.create(_row(n))) for n in "bcd"]
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    a, b, c, d = asyncio.run(scenario())
    assert a == "cus_a" and d == "cus_d"
    assert isinstance(b, RuntimeError) and isinstance(c, RuntimeError)


def test_a_waiting_signup_that_is_cancelled_does_not_stop_the_batch() -> None:
    async def scenario() -> tuple[str | None, list[list[str]]]:
        sync = Recorder()
        follow_ups = StripeFollowUps(sync)
        first = asyncio.create_task(follow_ups.create(_row("a")))
        await asyncio.sleep(0)
        cancelled = asyncio.create_task(follow_ups.create(_row("b")))
        kept = asyncio.create_task(follow_ups.create(_row("c")))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await first
        return await kept, sync.batches

    kept, batches = asyncio.run(scenario())
    assert kept == "cus_c"
    assert batches == [["a"], ["b", "c"]]  # b's Stripe customer is made all the same


def test_a_new_event_loop_gets_a_batcher_of_its_own() -> None:
    """A loop that ended with signups still waiting (a test's, a server's that stopped)
    does not leave the next loop's signups stuck behind them; the Stripe customers of those
    left waiting are made all the same."""
    sync = Recorder()
    follow_ups = StripeFollowUps(sync)

    async def left_waiting() -> None:
        signups = [asyncio.create_task(follow_ups.create(_row("a")))]
        await asyncio.sleep(0)
        signups.append(asyncio.create_task(follow_ups.create(_row("b"))))  # after a's batch
        await asyncio.sleep(0)

    asyncio.run(left_waiting())  # the loop ends with a's batch under way and b waiting
    assert asyncio.run(follow_ups.create(_row("c"))) == "cus_c"
    assert sync.batches == [["a"], ["b", "c"]]


def test_a_batcher_whose_loop_stopped_under_it_starts_afresh() -> None:
    """A loop stopped without ending its tasks leaves a batch that will never finish."""
    sync = Recorder()
    follow_ups = StripeFollowUps(sync)
    old = asyncio.new_event_loop()
    try:
        old.run_until_complete(_start(follow_ups, "a"))  # a's batch stays under way
        assert asyncio.run(asyncio.wait_for(follow_ups.create(_row("b")), 5)) == "cus_b"
    finally:
        for task in asyncio.all_tasks(old):
            task.cancel()
        old.run_until_complete(asyncio.sleep(0))
        old.close()


async def _start(follow_ups: StripeFollowUps, customer_id: str) -> asyncio.Task[str | None]:
    signup = asyncio.create_task(follow_ups.create(_row(customer_id)))
    await asyncio.sleep(0)
    return signup


def test_no_answer_goes_to_a_signup_whose_loop_is_closed() -> None:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    assert _awaited(future)
    loop.close()
    assert not _awaited(future)
