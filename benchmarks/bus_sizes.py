"""Encoded sizes and codec CPU cost of the SG CP's main messages — the inputs of the sizing in docs/scaling.md.

Each message is a realistic one (CityLearn 2023 phase 3-1 prices, CO2 and building load; the washer offer of
``docs/wire-format.md``) in its envelope with the addresses of a deployment (``grid/cem-004217``,
``grid/retailer``). For each: the payload in XML (the SG CP wire format) and JSON; the MQTT 5 PUBLISH it
becomes (topic and the properties ``flexcem.bus.mqtt_wire`` puts on it, packed by paho); the TLS 1.3 record
around it (AES-GCM: 22 bytes); and the median time to encode and to decode it on this machine.

No broker is needed. Run: ``python benchmarks/bus_sizes.py [--out benchmarks/results/bus_sizes.json] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bus_common import DATA, RESULTS, day_ahead_tariff, loadavg, machine, write_report
from flexcem.bus.access import Role
from flexcem.bus.mqtt_wire import publish_properties, publish_topic, remaining_s, response_topic
from flexcem.codec import JsonCodec, XmlCodec
from flexcem.model import (
    Ack,
    DeviceState,
    DeviceStatus,
    Envelope,
    FlexModel,
    PowerSeries,
    PowerSlot,
    Presence,
    PresenceState,
    SlotShift,
    StatusRequest,
    TimeSeries,
    ValueSlot,
)

TLS13_RECORD_OVERHEAD = 22
"""5-byte record header + 1-byte inner content type + 16-byte AES-GCM tag."""
TCP_IP_OVERHEAD = 52
"""IPv4 (20) + TCP (20) + timestamps option (12) per segment; one segment per packet with TCP_NODELAY."""
PUBACK_MQTT5 = 4
"""A successful MQTT 5 PUBACK without properties: fixed header (2) + packet id (2)."""

ORIGIN = datetime(2023, 6, 2, tzinfo=timezone(timedelta(hours=-7)))
CEM = "grid/cem-004217"
GRID = "grid/retailer"


def _load_kw() -> list[float]:
    lines = (DATA / "Building_1.csv").read_text().splitlines()
    column = lines[0].split(",").index("non_shiftable_load")
    return [float(line.split(",")[column]) for line in lines[1:] if line.strip()]


def washer_offer() -> FlexModel:
    """The washer's offer of docs/wire-format.md (tests/codec/codec_samples.py), here CEM → grid."""
    from flexcem.model import (
        EnergyShare,
        EnergySource,
        FlexibleStartOffer,
        IncentiveProgram,
        PowerProfile,
        PowerSequence,
        ProfileSlot,
    )

    cest = timezone(timedelta(hours=2))
    eco = PowerSequence(
        sequence_id="eco",
        label="Cotton 40 eco",
        slots=(
            ProfileSlot(duration=timedelta(minutes=20), power_w=2000.0, max_power_w=2200.0, label="heating"),
            ProfileSlot(duration=timedelta(minutes=50), power_w=150.0, label="washing"),
            ProfileSlot(
                duration=timedelta(minutes=10),
                power_w=600.5,
                label="spinning",
                energy_sources=(EnergyShare(source=EnergySource.HOT_WATER, share=0.25),),
            ),
        ),
    )
    quick = PowerSequence(
        sequence_id="quick",
        label="Cotton 40 quick",
        confidence=0.9,
        slots=(ProfileSlot(duration=timedelta(minutes=45), power_w=1850.25, label="all-in-one"),),
    )
    earliest = datetime(2024, 5, 1, 8, 0, tzinfo=cest)
    return FlexibleStartOffer(
        offer_id="job-2024-05-01-1",
        device_id="washer-1",
        earliest_start=earliest,
        latest_start=earliest + timedelta(hours=6),
        latest_end=earliest + timedelta(hours=8),
        incentive=IncentiveProgram.CHEAPEST,
        programme_duration=eco.duration,
        profile=PowerProfile(alternatives=(eco, quick)),
        programme="Cotton 40",
    )


def metering(slots: int, minutes: int) -> FlexModel:
    """The site's metered power: ``slots`` values of ``minutes`` (Building_1 non-shiftable load, kW → W)."""
    load = _load_kw()
    return TimeSeries(
        quantity="power",
        unit="W",
        slots=tuple(
            ValueSlot(
                start=ORIGIN + timedelta(minutes=minutes * i),
                duration=timedelta(minutes=minutes),
                value=round(1000.0 * load[24 + (i * minutes) // 60], 1),
            )
            for i in range(slots)
        ),
    )


def load_limit(slots: int) -> FlexModel:
    """A load-management request: the most the site may draw in ``slots`` quarter hours (a SlotShift)."""
    return SlotShift(
        offer_id="lm-2023-06-02-17",
        device_id="site",
        start=ORIGIN + timedelta(hours=17),
        profile=PowerSeries(
            slots=tuple(
                PowerSlot(
                    start=ORIGIN + timedelta(hours=17, minutes=15 * i), duration=timedelta(minutes=15), power_w=4140.0
                )
                for i in range(slots)
            )
        ),
    )


def messages() -> list[tuple[str, str, str, Role, FlexModel, dict[str, Any]]]:
    """(name, sender, recipient, sender's role, body, envelope options) of the main SG CP messages."""
    now = ORIGIN + timedelta(hours=11, minutes=58)
    return [
        ("tariff, day-ahead 24 × 1 h (broadcast)", GRID, "grid/all", Role.CONTROLLER, day_ahead_tariff(0, day=1), {}),
        (
            "tariff correction 1 × 1 h (broadcast)",
            GRID,
            "grid/all",
            Role.CONTROLLER,
            day_ahead_tariff(1, slots=1, day=1),
            {},
        ),
        (
            "load-management request 8 × 15 min (SlotShift)",
            GRID,
            CEM,
            Role.CONTROLLER,
            load_limit(8),
            {"ack_requested": True, "expires": now + timedelta(minutes=5)},
        ),
        (
            "status request",
            GRID,
            CEM,
            Role.CONTROLLER,
            StatusRequest(device_id="cem-004217"),
            {"ack_requested": True, "expires": now + timedelta(seconds=15)},
        ),
        (
            "status reply (DeviceStatus)",
            CEM,
            GRID,
            Role.ENDPOINT,
            DeviceStatus(device_id="cem-004217", state=DeviceState.RUNNING, at=now, power_w=3120.5, energy_wh=812.0),
            {"correlation_id": "m-5f1c0e2a9b7d4c3e8a1f"},
        ),
        (
            "ack",
            CEM,
            GRID,
            Role.ENDPOINT,
            Ack(ref="m-5f1c0e2a9b7d4c3e8a1f"),
            {"correlation_id": "m-5f1c0e2a9b7d4c3e8a1f"},
        ),
        (
            "flexibility offer (washer, 2 alternatives)",
            CEM,
            GRID,
            Role.ENDPOINT,
            washer_offer(),
            {"ack_requested": True, "expires": now + timedelta(hours=1)},
        ),
        ("metering report 1 × 15 min", CEM, GRID, Role.ENDPOINT, metering(1, 15), {}),
        ("metering report 96 × 15 min (a day)", CEM, GRID, Role.ENDPOINT, metering(96, 15), {}),
        (
            "presence (retained; the will)",
            CEM,
            "grid/all",
            Role.ENDPOINT,
            Presence(address=CEM, state=PresenceState.ONLINE, since=now),
            {},
        ),
    ]


def _varint_len(n: int) -> int:
    return 1 if n < 128 else 2 if n < 16384 else 3 if n < 2097152 else 4


def _median_us(action: Callable[[], object], budget_s: float) -> float:
    runs: list[float] = []
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline or len(runs) < 5:
        t0 = time.perf_counter()
        action()
        runs.append(time.perf_counter() - t0)
    return round(1e6 * statistics.median(runs), 1)


def measure(budget_s: float) -> list[dict[str, Any]]:
    xml, json = XmlCodec(), JsonCodec()
    now = ORIGIN + timedelta(hours=11, minutes=58)
    rows = []
    for name, sender, to, role, body, options in messages():
        envelope = Envelope(type=type(body).__name__, sender=sender, to=to, created=now, body=body, **options)
        if isinstance(body, Presence):
            topic = "sgcp/v1/grid/presence/cem-004217"
        else:
            topic = publish_topic(role, sender, envelope, retain=False)
        row: dict[str, Any] = {"message": name, "type": envelope.type, "topic": topic}
        for label, codec in (("xml", xml), ("json", json)):
            payload = codec.encode(envelope)
            properties = publish_properties(
                envelope,
                codec,
                response=response_topic(role, sender, envelope),
                expiry_s=remaining_s(envelope, now),
            ).pack()
            remaining = 2 + len(topic.encode()) + 2 + len(properties) + len(payload)  # properties: length included
            publish = 1 + _varint_len(remaining) + remaining
            row[label] = {
                "payload_bytes": len(payload),
                "mqtt5_properties_bytes": len(properties),
                "mqtt5_publish_bytes": publish,
                "tls_record_bytes": publish + TLS13_RECORD_OVERHEAD,
                "on_the_wire_per_hop_bytes": publish
                + TLS13_RECORD_OVERHEAD
                + TCP_IP_OVERHEAD
                + PUBACK_MQTT5
                + TLS13_RECORD_OVERHEAD
                + TCP_IP_OVERHEAD,
                "encode_us": _median_us(lambda c=codec, e=envelope: c.encode(e), budget_s),
                "decode_us": _median_us(lambda c=codec, p=payload: c.decode(p), budget_s),
            }
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "bus_sizes.json")
    parser.add_argument("--quick", action="store_true", help="0.05 s of timing per message and codec")
    args = parser.parse_args(argv)
    budget = 0.05 if args.quick else 1.0
    if args.quick and args.out == RESULTS / "bus_sizes.json":
        args.out = Path("/tmp/bus_sizes.quick.json")
    report = {
        "benchmark": "bus_sizes",
        "machine": machine(),
        "load_before": loadavg(),
        "assumptions": {
            "tls_record_overhead_bytes": TLS13_RECORD_OVERHEAD,
            "tcp_ip_overhead_bytes_per_segment": TCP_IP_OVERHEAD,
            "puback_bytes": PUBACK_MQTT5,
            "on_the_wire_per_hop": "PUBLISH + its PUBACK, each in its own TLS record and TCP segment "
            "(small messages with TCP_NODELAY); a broadcast costs this once per recipient on the broker's side",
            "timing": f"median of repeated runs for {budget} s each, one process, this machine",
        },
        "messages": measure(budget),
    }
    report["load_after"] = loadavg()
    write_report(report, args.out)
    print(
        f"{'message':>48} | {'XML B':>6} {'MQTT B':>6} {'enc µs':>7} {'dec µs':>7} | "
        f"{'JSON B':>6} {'enc µs':>7} {'dec µs':>7}"
    )
    for row in report["messages"]:
        x, j = row["xml"], row["json"]
        print(
            f"{row['message']:>48} | {x['payload_bytes']:>6} {x['mqtt5_publish_bytes']:>6} {x['encode_us']:>7} "
            f"{x['decode_us']:>7} | {j['payload_bytes']:>6} {j['encode_us']:>7} {j['decode_us']:>7}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
