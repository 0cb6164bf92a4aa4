"""``flexcem sim run``: a scenario's homes, sharded over worker processes, with and without control.

The population is drawn (:mod:`flexcem.sim.population`) and split into one shard per worker (by default one per
core); every shard runs in its own process on its own bus (in-process :class:`~flexcem.bus.MemoryBus`, or the
MQTT broker given with ``bus``) and its own :class:`~flexcem.clock.SimulatedClock`, with its own retailer and
DSO sending the same timeline (:mod:`flexcem.sim.runner_shard`). The same homes are then run **without
control** for the normalisation of the KPIs and, when the timeline holds grid signals (other than tariff
corrections) and the scenario's ``signal_effect`` is on, **with control but without those signals** (the tariff
and its corrections still apply): the difference to the run with them is each signal's own effect. Progress
(simulated time, homes done) goes to a :class:`~flexcem.sim.progress.ProgressBar`. Over a secured broker
(``mqtts://`` with ``pki``) the runs go one after another: a home keeps its endpoint ids, hence its certificates,
in every run, and a certificate holds one connection at a time (:meth:`ShardPlan.batches`).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flexcem.sim.population import HomeSpec, draw_population
from flexcem.sim.progress import ProgressBar
from flexcem.sim.runner_home import HomeConnectError
from flexcem.sim.runner_shard import (
    EndpointConnectError,
    HomeSeries,
    ShardResult,
    ShardTask,
    SignalOutcome,
    run_shard,
)
from flexcem.sim.scenario import Scenario
from flexcem.sim.scenario_data import load_buildings, slot_prices

__all__ = ["ShardPlan", "SimulationResult", "plan_shards", "run_simulation"]


@dataclass
class SimulationResult:
    """The runs of a scenario, per home and slot, with the prices and carbon intensity of every slot.

    ``controlled``: with control and the timeline's signals; ``baseline``: without control (empty when not run);
    ``without_signals``: with control, tariff and corrections but no other signal (empty when not run).
    """

    scenario: Scenario
    homes: list[HomeSpec]
    controlled: list[HomeSeries]
    baseline: list[HomeSeries]
    signals: list[SignalOutcome]
    slot_starts: list[datetime]
    price_per_kwh: list[float]
    co2_g_per_kwh: list[float]
    currency: str
    wall_s: float
    shard_wall_s: dict[str, list[float]]
    bus_messages: dict[str, int]
    workers: int
    bus: str
    without_signals: list[HomeSeries] = field(default_factory=list)
    shard_cpu_s: dict[str, list[float]] = field(default_factory=dict)
    """CPU time of each shard [s], per run (the wall time less what the shard waited for)."""


_CONTROL, _NO_CONTROL, _NO_SIGNALS = (True, True), (False, True), (True, False)
"""The runs as ``(controlled, signals)``."""
_RUN_NAMES = {_CONTROL: "control", _NO_CONTROL: "no_control", _NO_SIGNALS: "control_without_signals"}


def _run_of(result: ShardResult) -> tuple[bool, bool]:
    return (result.controlled, result.with_signals or not result.controlled)


_QUEUE: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _QUEUE
    _QUEUE = progress_queue


def _report(run: str, shard: int, now: datetime, done: int) -> None:
    if _QUEUE is not None:
        _QUEUE.put((run, shard, now, done))


def _work(task: ShardTask) -> ShardResult:
    try:
        return run_shard(task, _report)
    except HomeConnectError as error:  # its own arguments do not survive pickling back to the parent
        raise EndpointConnectError(str(error), error.address) from None


def _shards(homes: list[HomeSpec], count: int) -> Iterator[tuple[HomeSpec, ...]]:
    for index in range(count):
        part = tuple(homes[index::count])
        if part:
            yield part


@dataclass(frozen=True)
class ShardPlan:
    """How a scenario is run: its homes, the number of shards (= worker processes), the runs and their tasks."""

    homes: list[HomeSpec]
    workers: int
    runs: list[tuple[bool, bool]]
    tasks: list[ShardTask]

    def batches(self) -> list[list[ShardTask]]:
        """The tasks in the groups that may run at the same time: all of them in-process or over a plain broker;
        over a secured broker (``pki``) one run after another, because the runs' homes hold the same identities
        (one certificate CN each, which the broker takes as the client id: a second connection under it would
        take the first one's session over)."""
        if not self.tasks or self.tasks[0].pki is None:
            return [self.tasks]
        return [[task for task in self.tasks if (task.controlled, task.signals) == run] for run in self.runs]


def plan_shards(
    scenario: Scenario,
    *,
    workers: int | None = None,
    bus: str | None = None,
    pki: Path | None = None,
    baseline: bool = True,
    signal_effect: bool | None = None,
) -> ShardPlan:
    """The shards and runs of ``scenario`` (see :func:`run_simulation`); ``flexcem sim prepare`` issues the
    certificates of exactly these tasks' endpoints."""
    homes = draw_population(scenario)
    count = max(1, min(workers or os.cpu_count() or 1, len(homes)))
    shards = list(_shards(homes, count))
    wanted = scenario.signal_effect if signal_effect is None else signal_effect
    runs = (
        [_CONTROL]
        + ([_NO_CONTROL] if baseline else [])
        + ([_NO_SIGNALS] if wanted and scenario.has_grid_signals else [])
    )
    tasks = [
        ShardTask(scenario, part, index, controlled, bus, signals=signals, pki=pki)
        for controlled, signals in runs
        for index, part in enumerate(shards)
    ]
    return ShardPlan(homes, count, runs, tasks)


def run_simulation(
    scenario: Scenario,
    *,
    workers: int | None = None,
    bus: str | None = None,
    pki: Path | None = None,
    progress: ProgressBar | None = None,
    baseline: bool = True,
    signal_effect: bool | None = None,
) -> SimulationResult:
    """Run the scenario with control (and, with ``baseline``, without); ``workers`` processes (default: cores).

    ``signal_effect`` (default: the scenario's): also run with control but without the timeline's grid signals —
    only when it holds some (tariff corrections are not grid signals here). ``pki``: the PKI directory with the
    endpoints' certificates, for an ``mqtts://`` bus (``flexcem sim prepare``).
    """
    began = time.perf_counter()
    plan = plan_shards(scenario, workers=workers, bus=bus, pki=pki, baseline=baseline, signal_effect=signal_effect)
    homes, count, runs, tasks = plan.homes, plan.workers, plan.runs, plan.tasks
    results: list[ShardResult] = []
    if count == 1 and progress is None:
        results = [run_shard(task) for task in tasks]
    else:
        context = multiprocessing.get_context("fork")
        updates = context.Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set() or not updates.empty():
                try:
                    run, shard, now, done = updates.get(timeout=0.1)
                except queue.Empty:
                    continue
                if progress is not None:
                    progress.update(run, shard, now, done)

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        try:
            with context.Pool(count, initializer=_init_worker, initargs=(updates,), maxtasksperchild=1) as pool:
                for batch in plan.batches():
                    results += pool.imap_unordered(_work, batch)
        finally:
            stop.set()
            drainer.join()
            if progress is not None:
                progress.close()
    order = {spec.home_id: index for index, spec in enumerate(homes)}

    def collect(run: tuple[bool, bool]) -> list[HomeSeries]:
        series = [home for result in results if _run_of(result) == run for home in result.homes]
        return sorted(series, key=lambda home: order[home.home_id])

    data = load_buildings(scenario.data)[scenario.data.buildings[0]]
    starts, prices, co2 = slot_prices(scenario, data)
    signals = sorted((s for result in results for s in result.signals), key=lambda s: (s.event, order[s.home_id]))
    return SimulationResult(
        scenario=scenario,
        homes=homes,
        controlled=collect(_CONTROL),
        baseline=collect(_NO_CONTROL),
        without_signals=collect(_NO_SIGNALS),
        signals=signals,
        slot_starts=starts,
        price_per_kwh=prices,
        co2_g_per_kwh=co2,
        currency=data.currency,
        wall_s=time.perf_counter() - began,
        shard_wall_s={_RUN_NAMES[run]: [r.wall_s for r in results if _run_of(r) == run] for run in runs},
        shard_cpu_s={_RUN_NAMES[run]: [r.cpu_s for r in results if _run_of(r) == run] for run in runs},
        bus_messages={_RUN_NAMES[run]: sum(r.bus_messages for r in results if _run_of(r) == run) for run in runs},
        workers=count,
        bus=bus or "memory",
    )
