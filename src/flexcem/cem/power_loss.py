"""Power-loss analysis after a restart (JWG3102, uc-market §6).

"After the event … the CEM computes the duration and type (grid blackout vs circuit-breaker trip). It sends the
user a report: type, home and appliance consumption before the loss, alert."

A CEM without a UPS cannot see the loss itself; it sees its own restart. So while it runs it keeps a small
**alive record** (:class:`AliveRecord`): the instant it was last alive, the site's and each device's power at
that instant, and the latest site overload warning (the meter's SmartInfo "overload warning notification", or
the CEM's own against the contracted power, 2113.2). It is written every :attr:`PowerLossAnalysis.record_every`
through a :class:`PowerLossMemory` (:class:`FilePowerLossMemory`, or the CEM store once wired), and marked
*clean* when the CEM is stopped on purpose.

On the next start an unclean record means the power was lost:

* **type**: a *breaker trip* when a site overload warning came at most ``trip_window`` before the last sign of
  life (the consumption above the contracted power tripped the breaker), else a *grid blackout* (inferred
  rule of the digest, acceptance 3);
* **duration**: restart − last alive (late by at most ``record_every``);
* **consumption before**: the site's metered power and each device's last reported power;

and the report goes to the user's display (:class:`~flexcem.cem.alerts.Alerts`, kind ``"power_loss"``) and the
journal. The model has no message for the user's endpoint, so nothing is sent on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import Field, ValidationError

from flexcem.bus import Endpoint
from flexcem.cem.alerts import Alerts
from flexcem.cem.metering import Metering
from flexcem.model import FlexModel, Identifier, Instant, LimitKind, WarningSource, parse_address

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = [
    "AliveRecord",
    "FilePowerLossMemory",
    "PowerLossAnalysis",
    "PowerLossKind",
    "PowerLossMemory",
    "PowerLossMemoryError",
    "PowerLossReport",
    "analyse_restart",
    "parse_alive_record",
]

RECORD_EVERY = timedelta(minutes=1)
"""How often the alive record is written by default (the duration is late by at most this)."""
TRIP_WINDOW = timedelta(minutes=15)
"""An overload warning at most this long before the loss makes it a breaker trip, by default."""


class AliveRecord(FlexModel):
    """What the CEM knew when it was last alive."""

    at: Instant = Field(description="When the CEM was last alive.")
    clean_shutdown: bool = Field(default=False, description="Whether the CEM was stopped on purpose.")
    site_power_w: float | None = Field(default=None, description="The site's metered power then [W]; + import.")
    site_power_at: Instant | None = Field(default=None, description="When that power was metered.")
    device_power_w: dict[Identifier, float] = Field(
        default_factory=dict, description="Each device's last reported power [W]; consumption positive."
    )
    overload_at: Instant | None = Field(default=None, description="When the latest site overload warning came.")
    overload_power_w: float | None = Field(default=None, description="The power that warning reported [W].")
    overload_limit_w: float | None = Field(default=None, ge=0.0, description="The limit it passed [W].")


class PowerLossMemoryError(ValueError):
    """The persisted alive record cannot be read; the message names the file and the field."""


class PowerLossMemory(Protocol):
    """Where the alive record survives a power loss."""

    def load(self) -> AliveRecord | None:
        """The record written last; ``None`` when there is none. :class:`PowerLossMemoryError` when unreadable."""
        ...

    def save(self, record: AliveRecord) -> None:
        """Replace the record with ``record`` (atomically: a loss while writing leaves the previous one)."""
        ...


def parse_alive_record(text: str, source: str) -> AliveRecord:
    """The record in JSON ``text``; :class:`PowerLossMemoryError` naming ``source`` and the field otherwise."""
    try:
        return AliveRecord.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        raise PowerLossMemoryError(f"{source}: {where}: {first['msg']}") from None


class FilePowerLossMemory:
    """The alive record as one JSON file, replaced atomically (write a sibling, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> AliveRecord | None:
        """The record in :attr:`path`; ``None`` when the file does not exist."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return parse_alive_record(text, str(self.path))

    def save(self, record: AliveRecord) -> None:
        """Write ``record`` to a sibling file, flush it to disk and rename it over :attr:`path`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", encoding="utf-8") as file:
            file.write(record.model_dump_json())
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)

    def set_aside(self, at: datetime) -> Path | None:
        """Move an unreadable record out of the way (kept, not lost) and return where it went."""
        if not self.path.exists():
            return None
        kept = self.path.with_name(f"{self.path.name}.unreadable-{at:%Y%m%dT%H%M%S}")
        os.replace(self.path, kept)
        return kept


class PowerLossKind(StrEnum):
    """Why the site lost power."""

    GRID_BLACKOUT = "grid_blackout"
    BREAKER_TRIP = "breaker_trip"


@dataclass(frozen=True)
class PowerLossReport:
    """The analysis of one power loss (JWG3102 "Event Terminated" report)."""

    kind: PowerLossKind
    lost_at: datetime
    """The CEM's last sign of life before the loss."""
    restored_at: datetime
    duration: timedelta
    """restored_at − lost_at (late by at most the recording interval)."""
    site_power_w: float | None
    """The site's metered power before the loss [W]."""
    device_power_w: dict[str, float]
    """Each device's last reported power before the loss [W]."""
    overload_at: datetime | None
    overload_power_w: float | None
    overload_limit_w: float | None

    def text(self, show: Callable[[datetime], str] = datetime.isoformat) -> str:
        """The report as the user reads it, instants written by ``show``."""
        minutes = self.duration.total_seconds() / 60.0
        kind = "breaker trip" if self.kind is PowerLossKind.BREAKER_TRIP else "grid blackout"
        parts = [f"power lost at {show(self.lost_at)} for {minutes:.0f} min: {kind}"]
        if self.kind is PowerLossKind.BREAKER_TRIP and self.overload_power_w is not None:
            parts.append(
                f"overload of {self.overload_power_w:.0f} W over the contracted {self.overload_limit_w or 0:.0f} W "
                "before it"
            )
        if self.site_power_w is not None:
            parts.append(f"the home drew {self.site_power_w:.0f} W")
        if self.device_power_w:
            drawn = sorted(self.device_power_w.items(), key=lambda item: -item[1])
            parts.append("appliances: " + ", ".join(f"{device} {power:.0f} W" for device, power in drawn))
        return "; ".join(parts)


def analyse_restart(
    record: AliveRecord | None, now: datetime, trip_window: timedelta = TRIP_WINDOW
) -> PowerLossReport | None:
    """The power loss that ``record`` and a restart at ``now`` show; ``None`` after a clean stop or no record.

    A breaker trip when the record's site overload warning came at most ``trip_window`` before its ``at``
    (and not after it), else a grid blackout.
    """
    if record is None or record.clean_shutdown:
        return None
    overload = record.overload_at
    tripped = overload is not None and timedelta(0) <= record.at - overload <= trip_window
    return PowerLossReport(
        kind=PowerLossKind.BREAKER_TRIP if tripped else PowerLossKind.GRID_BLACKOUT,
        lost_at=record.at,
        restored_at=now,
        duration=max(now - record.at, timedelta(0)),
        site_power_w=record.site_power_w,
        device_power_w=dict(record.device_power_w),
        overload_at=overload,
        overload_power_w=record.overload_power_w,
        overload_limit_w=record.overload_limit_w,
    )


class PowerLossAnalysis:
    """Keeps the alive record while the CEM runs and analyses the previous loss when a memory is attached.

    Attach the memory before :meth:`CustomerEnergyManager.start` (``cem.grid_side.power_loss.memory = …``); one
    attached later is analysed at the next recording tick.
    """

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, alerts: Alerts, metering: Metering) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._alerts = alerts
        self._metering = metering
        self._memory: PowerLossMemory | None = None
        self._attached = asyncio.Event()
        self.record_every = RECORD_EVERY
        self.trip_window = TRIP_WINDOW
        self.reports: list[PowerLossReport] = []
        """Every power loss found, oldest first."""
        self._analysed: PowerLossMemory | None = None

    @property
    def memory(self) -> PowerLossMemory | None:
        """Where the alive record is kept; ``None``: nowhere (no analysis)."""
        return self._memory

    @memory.setter
    def memory(self, memory: PowerLossMemory | None) -> None:
        self._memory = memory
        if memory is None:
            self._attached.clear()
        else:
            self._attached.set()

    def snapshot(self, *, clean: bool = False) -> AliveRecord:
        """The alive record now."""
        cem = self._cem
        latest = self._metering.latest
        overload = next(
            (
                w
                for w in reversed(self._metering.warnings)
                if w.source in (WarningSource.METER, WarningSource.CEM) and w.limit is LimitKind.UPPER
            ),
            None,
        )
        return AliveRecord(
            at=cem.clock.now(),
            clean_shutdown=clean,
            site_power_w=None if latest is None else latest.power_w,
            site_power_at=None if latest is None else latest.at,
            device_power_w={r.device_id: r.status.power_w for r in cem.registry.records() if r.status is not None},
            overload_at=None if overload is None else overload.at,
            overload_power_w=None if overload is None else overload.power_w,
            overload_limit_w=None if overload is None else overload.limit_w,
        )

    async def run(self) -> None:
        """Analyse the memory's record once, then write the alive record every :attr:`record_every` (waiting,
        without a memory, until one is attached)."""
        while True:
            await self._attached.wait()
            memory = self.memory
            if memory is not None:
                if self._analysed is not memory:
                    self._analysed = memory
                    await self.analyse(memory)
                memory.save(self.snapshot())
            await self._cem.clock.sleep(self.record_every.total_seconds())

    async def analyse(self, memory: PowerLossMemory) -> PowerLossReport | None:
        """Read the record ``memory`` kept and report the loss it shows (see the module)."""
        cem = self._cem
        try:
            record = memory.load()
        except PowerLossMemoryError as error:
            kept = memory.set_aside(cem.clock.now()) if isinstance(memory, FilePowerLossMemory) else None
            cem.note(f"power-loss analysis impossible: {error}" + (f"; the record is kept as {kept}" if kept else ""))
            return None
        report = analyse_restart(record, cem.clock.now(), self.trip_window)
        if report is None:
            return None
        self.reports.append(report)
        text = report.text(lambda instant: cem.settings.clock_time(instant, True))
        await self._alerts.alert("power_loss", parse_address(self._endpoint.address).name, text)
        return report

    def stopped(self) -> None:
        """The CEM is stopped on purpose: mark the record clean (no power loss at the next start)."""
        if self.memory is not None:
            with contextlib.suppress(OSError):
                self.memory.save(self.snapshot(clean=True))
