"""The simulated clock runs asyncio on virtual time: hours pass at once, order and timeouts are kept."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.clock import Clock, RealClock, SimulatedClock, SimulationStalled

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_a_simulated_day_passes_in_well_under_a_second_of_wall_time() -> None:
    clock = SimulatedClock(T0)

    async def main() -> datetime:
        await clock.sleep(24 * 3600)
        return clock.now()

    began = time.perf_counter()
    assert clock.run(main()) == T0 + timedelta(days=1)
    assert time.perf_counter() - began < 5.0  # generous: this is about not sleeping for real


def test_timers_fire_in_order_of_their_simulated_instants() -> None:
    clock = SimulatedClock(T0)
    fired: list[tuple[int, datetime]] = []

    async def wake(n: int) -> None:
        await clock.sleep_until(T0 + timedelta(minutes=n))
        fired.append((n, clock.now()))

    async def main() -> None:
        await asyncio.gather(*(wake(n) for n in (30, 5, 720, 5, 61)))

    clock.run(main())
    assert [n for n, _ in fired] == [5, 5, 30, 61, 720]
    assert all(at == T0 + timedelta(minutes=n) for n, at in fired)


def test_asyncio_timeouts_run_on_simulated_time() -> None:
    clock = SimulatedClock(T0)

    async def main() -> datetime:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=90)
        return clock.now()

    assert clock.run(main()) == T0 + timedelta(seconds=90)


def test_sleep_until_the_past_returns_at_once() -> None:
    clock = SimulatedClock(T0)

    async def main() -> datetime:
        await clock.sleep_until(T0 - timedelta(hours=1))
        return clock.now()

    assert clock.run(main()) == T0


def test_simulated_clock_needs_an_aware_start_and_both_clocks_are_clocks() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2026, 6, 1))
    assert isinstance(SimulatedClock(T0), Clock)
    assert isinstance(RealClock(), Clock)


def test_real_clock_is_aware_utc_and_sleeps() -> None:
    clock = RealClock()

    async def main() -> float:
        began = time.perf_counter()
        await clock.sleep_until(clock.now() + timedelta(milliseconds=20))
        return time.perf_counter() - began

    assert asyncio.run(main()) >= 0.015
    assert clock.now().tzinfo is UTC


def test_a_simulation_that_can_never_go_on_is_reported_not_hung() -> None:
    clock = SimulatedClock(T0, stall_timeout_s=0.2)

    async def main() -> None:
        await asyncio.Event().wait()  # nobody will ever set it

    with pytest.raises(SimulationStalled, match="nothing is scheduled"):
        clock.run(main())


def test_virtual_time_waits_for_real_io_to_settle() -> None:
    """A reply from a real socket arrives before a simulated timeout fires."""
    clock = SimulatedClock(T0, settle_s=0.05)

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection(*server_address)
        writer.write(b"ping")
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(4), timeout=5.0)  # 5 s of simulated time
        finally:
            writer.close()

    listener = socket.create_server(("127.0.0.1", 0))
    server_address = listener.getsockname()

    def echo_slowly() -> None:
        connection, _ = listener.accept()
        with connection:
            data = connection.recv(4)
            time.sleep(0.02)  # a real delay, as over a broker
            connection.sendall(data)

    thread = threading.Thread(target=echo_slowly, daemon=True)
    thread.start()
    assert clock.run(main()) == b"ping"
    thread.join(timeout=5)
    listener.close()
