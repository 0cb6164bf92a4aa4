"""TR §3.3 presence over MQTT needs keep-alive pings; paho sends them from ``loop_misc``. One thread per event loop
paces every client (:mod:`flexcem.bus.mqtt_housekeeping`): each client is served once per its interval of *real*
time, in the loop's thread — also on a simulated clock, where virtual time races ahead and must not stop for
housekeeping — and a client whose connection is gone (``loop_misc`` fails) is let go."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

from paho.mqtt.client import MQTT_ERR_NO_CONN, MQTT_ERR_SUCCESS

from flexcem.bus.mqtt_housekeeping import housekeeping
from flexcem.clock import SimulatedClock


class FakeClient:
    """Counts ``loop_misc`` calls; fails once ``fail_after`` calls were made."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls: list[float] = []
        self.threads: set[int] = set()
        self.fail_after = fail_after

    def loop_misc(self) -> int:
        self.calls.append(time.monotonic())
        self.threads.add(threading.get_ident())
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            return MQTT_ERR_NO_CONN
        return MQTT_ERR_SUCCESS


def test_many_clients_share_one_task_and_are_served_on_real_time() -> None:
    async def scenario() -> None:
        keeper = housekeeping()
        before = {t for t in threading.enumerate() if t.name == "mqtt housekeeping"}  # other loops' may linger
        clients = [FakeClient() for _ in range(200)]
        tasks = [asyncio.create_task(keeper.look_after(c, 0.05)) for c in clients]
        await asyncio.sleep(0.28)
        assert len(keeper) == 200
        threads = {t for t in threading.enumerate() if t.name == "mqtt housekeeping"} - before
        assert len(threads) == 1, "one thread for all clients"
        assert all(c.threads == {threading.get_ident()} for c in clients), "paho is called in the loop's thread"
        for client in clients:
            assert 4 <= len(client.calls) <= 7, "about every 50 ms of real time"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(keeper) == 0, "a cancelled client (socket closed) is let go"

    asyncio.run(scenario())


def test_a_simulated_day_calls_paho_on_real_time_only() -> None:
    clock = SimulatedClock(datetime(2021, 7, 6, tzinfo=UTC))

    async def scenario() -> None:
        client = FakeClient()
        task = asyncio.create_task(housekeeping().look_after(client, 15.0))
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        assert not loop._scheduled, "no timer: the simulated clock never stops for housekeeping"  # type: ignore[attr-defined]
        began = time.monotonic()
        await clock.sleep(86_400.0)  # a virtual day passes in moments of real time
        elapsed = time.monotonic() - began
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert elapsed < 15.0
        assert len(client.calls) == 1, "no keep-alive work before 15 s of real time"
        assert clock.now() >= datetime(2021, 7, 7, tzinfo=UTC)

    clock.run(scenario())


def test_a_client_whose_connection_is_gone_is_released() -> None:
    async def scenario() -> None:
        client = FakeClient(fail_after=2)
        await asyncio.wait_for(housekeeping().look_after(client, 0.01), timeout=2.0)
        assert len(client.calls) == 3
        assert len(housekeeping()) == 0

    asyncio.run(scenario())
