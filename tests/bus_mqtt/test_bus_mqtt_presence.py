"""Presence over Mosquitto (TR §3.3: "information about network availability (presence) is required").

Every link announces a retained online presence when it connects; a clean close says offline; when a client
dies without a word the broker publishes its will (offline) once 1.5 × keepalive has passed in silence.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from unittest.mock import ANY

import pytest

from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.model import Presence, PresenceState

CONTROLLER = Role.CONTROLLER

MOSQUITTO_KEEPALIVE_CHECK_S = 6.0
"""Mosquitto 2.0.11 looks for expired keep-alives only when more than 5 s have passed since it last looked
(src/keepalive.c: ``last_keepalive_check + 5 < now``), so a silent client is declared dead up to ~6 s after
its 1.5 × keepalive have run out; measured here: 5.2–5.6 s for keepalives of 1–3 s."""

_CLIENT = """
import asyncio, sys
from flexcem.bus.mqtt import MqttBus

async def main():
    bus = MqttBus(sys.argv[1], keepalive_s=float(sys.argv[3]), reconnect_min_s=0.1, reconnect_max_s=0.2)
    await bus.connect(sys.argv[2])
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_presence_is_online_while_connected_and_offline_after_a_clean_close(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            grid = await n.link("dom/grid", CONTROLLER)
            changes = grid.presence_changes()
            device = await n.link("dom/a")
            seen = await asyncio.wait_for(anext(changes), 5)
            assert (seen.address, seen.state) == ("dom/a", PresenceState.ONLINE)
            assert (await grid.presence("dom/a")).state is PresenceState.ONLINE  # type: ignore[union-attr]
            assert (await device.presence("dom/grid")).state is PresenceState.ONLINE  # type: ignore[union-attr]
            assert grid.presences()["dom/a"].state is PresenceState.ONLINE
            await device.close()
            seen = await asyncio.wait_for(anext(changes), 5)
            assert (seen.address, seen.state) == ("dom/a", PresenceState.OFFLINE)
            assert (await grid.presence("dom/a")).state is PresenceState.OFFLINE  # type: ignore[union-attr]
            assert await grid.presence("dom/never-seen") is None
            await changes.aclose()

    run(scenario())


@pytest.mark.slow
def test_presence_turns_offline_within_one_and_a_half_keepalives_of_a_silent_death_and_online_on_return(
    run, broker
) -> None:
    keepalive_s = 1.0
    client = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, broker.uri, "dom/a", str(keepalive_s)], stdout=subprocess.PIPE, text=True
    )

    async def next_state(changes, address: str) -> tuple[PresenceState, float]:  # type: ignore[no-untyped-def]
        while True:
            presence: Presence = await asyncio.wait_for(anext(changes), 10)
            if presence.address == address:
                return presence.state, time.monotonic()

    async def scenario() -> list[float]:
        bus = MqttBus(broker.uri)
        grid = await bus.connect("dom/grid", role=CONTROLLER)
        changes = grid.presence_changes()
        try:
            assert await asyncio.to_thread(client.stdout.readline) == "ready\n"  # type: ignore[union-attr]
            assert await next_state(changes, "dom/a") == (PresenceState.ONLINE, ANY)
            # Frozen: the connection stays open but silent, as when a device loses power behind a NAT.
            stopped = time.monotonic()
            client.send_signal(signal.SIGSTOP)
            state, offline_at = await next_state(changes, "dom/a")
            assert state is PresenceState.OFFLINE
            client.send_signal(signal.SIGCONT)  # back: it notices, reconnects and announces itself again
            state, _ = await next_state(changes, "dom/a")
            assert state is PresenceState.ONLINE
            killed = time.monotonic()
            client.kill()  # the socket closes without DISCONNECT: the will at once
            state, gone_at = await next_state(changes, "dom/a")
            assert state is PresenceState.OFFLINE
            return [offline_at - stopped, gone_at - killed]
        finally:
            await changes.aclose()
            await grid.close()

    try:
        silent, killed = run(scenario())
    finally:
        client.kill()
        client.wait()
    assert silent <= 1.5 * keepalive_s + MOSQUITTO_KEEPALIVE_CHECK_S, silent
    assert killed <= 1.5 * keepalive_s, killed  # a closed socket: the will at once
