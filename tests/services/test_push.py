"""Expo push against a local Expo-compatible server: batches, tickets, receipts, backoff."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.db.engine import SessionFactory
from services.notifications import push
from services.notifications.expo import ExpoPush, PushUnavailable
from tests.expo_stub import ExpoStub, running
from tests.factories import create_user
from tests.notification_helpers import deliveries, notify, register_device, token_state

pytestmark = pytest.mark.asyncio


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_250_notifications_make_3_requests_and_store_their_tickets(
    session_factory: SessionFactory,
) -> None:
    user = await create_user(session_factory)
    token = await register_device(session_factory, user, "a")
    await notify(session_factory, user, 250)
    stub = ExpoStub()
    async with running(stub) as url, httpx.AsyncClient() as client:
        requests = await push.deliver_pending(session_factory, ExpoPush(client, url))
    assert requests == 3
    assert [len(batch) for batch in stub.sends()] == [100, 100, 50]
    assert {message["to"] for batch in stub.sends() for message in batch} == {token}
    rows = await deliveries(session_factory)
    assert len(rows) == 250
    assert {status for status, _, _ in rows} == {"SENT"}
    assert len({ticket for _, ticket, _ in rows}) == 250  # one stored ticket per push


async def test_device_not_registered_deactivates_the_token(
    session_factory: SessionFactory,
) -> None:
    user = await create_user(session_factory)
    gone = await register_device(session_factory, user, "gone")
    kept = await register_device(session_factory, user, "kept")
    await notify(session_factory, user)
    stub = ExpoStub(unregistered={gone})
    async with running(stub) as url, httpx.AsyncClient() as client:
        await push.deliver_pending(session_factory, ExpoPush(client, url))
        assert await token_state(session_factory, gone) == (False, "DeviceNotRegistered")
        assert await token_state(session_factory, kept) == (True, None)
        assert sorted(row[0] for row in await deliveries(session_factory)) == ["FAILED", "SENT"]
        # The next notification goes to the device that is still registered only.
        await notify(session_factory, user)
        await push.deliver_pending(session_factory, ExpoPush(client, url))
    assert [message["to"] for message in stub.sends()[-1]] == [kept]


async def test_a_receipt_saying_device_not_registered_deactivates_the_token(
    session_factory: SessionFactory,
) -> None:
    user = await create_user(session_factory)
    token = await register_device(session_factory, user, "r")
    await notify(session_factory, user, 2)
    stub = ExpoStub()
    async with running(stub) as url, httpx.AsyncClient() as client:
        sender = ExpoPush(client, url)
        await push.deliver_pending(session_factory, sender)
        first, second = [ticket for _, ticket, _ in await deliveries(session_factory)]
        assert first is not None
        assert second is not None
        stub.receipts[second] = {"status": "error", "details": {"error": "DeviceNotRegistered"}}
        checked = await push.poll_receipts(session_factory, sender, older_than=timedelta(0))
    assert checked == 2
    assert ("receipts", [first, second]) in stub.requests
    assert [row[0] for row in await deliveries(session_factory)] == ["DELIVERED", "FAILED"]
    assert await token_state(session_factory, token) == (False, "DeviceNotRegistered")


async def test_429_is_retried_after_retry_after_and_5xx_with_exponential_backoff(
    session_factory: SessionFactory,
) -> None:
    user = await create_user(session_factory)
    await register_device(session_factory, user, "b")
    await notify(session_factory, user)
    stub = ExpoStub(fail_next=[429], retry_after="7")
    sleeps = Sleeps()
    async with running(stub) as url, httpx.AsyncClient() as client:
        await push.deliver_pending(session_factory, ExpoPush(client, url, sleep=sleeps))
        assert sleeps.delays == [7.0]  # Expo's Retry-After, not our own guess
        assert len(stub.sends()) == 2
        assert [row[0] for row in await deliveries(session_factory)] == ["SENT"]

        await notify(session_factory, user)
        stub.fail_next, stub.retry_after, sleeps.delays = [503, 502, 500, 503], None, []
        with pytest.raises(PushUnavailable):
            await push.deliver_pending(session_factory, ExpoPush(client, url, sleep=sleeps))
    assert sleeps.delays == [1.0, 2.0, 4.0]  # then it gives up: the job retries later
    # Nothing was lost: the push is pending again for the job's next run.
    assert [row[0] for row in await deliveries(session_factory)] == ["SENT", "PENDING"]
