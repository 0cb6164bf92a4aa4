"""One whole-home plan: jobs and described devices in one :class:`~flexcem.planner.PlanningProblem`, solved,
and turned into what each device is to be sent (see :mod:`flexcem.cem.home_planning` for the horizon and the
devices, :mod:`flexcem.cem.setpoints` for the schedules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flexcem.cem.forecasts import HomeForecasts
from flexcem.cem.home_book import HomeBook
from flexcem.cem.home_dispatch import UserSettings
from flexcem.cem.home_planning import GenerationRules, Grid, home_devices, home_horizon_end
from flexcem.cem.jobs import JobRecord
from flexcem.cem.planning import committed_load, floor_to_slot, job_devices
from flexcem.cem.power_reduction import ReductionBook
from flexcem.cem.price_book import PriceBook
from flexcem.cem.registry import DeviceRegistry
from flexcem.cem.setpoints import setpoint_schedules
from flexcem.cem.settings import CemSettings
from flexcem.model import PowerFlow, PowerSeries, PowerSetpointSchedule, PowerSlot
from flexcem.planner import Plan, PlannerDevice, PlanningProblem, SiteLimits, solve

__all__ = ["HomePlan", "plan_home"]


@dataclass
class HomePlan:
    """A solved whole-home plan with what it asks of each device."""

    plan: Plan
    problem: PlanningProblem
    placed: list[JobRecord]
    schedules: list[PowerSetpointSchedule]
    user_settings: list[UserSettings]
    notes: list[str] = field(default_factory=list)


def plan_home(
    *,
    now: datetime,
    jobs: list[JobRecord],
    running: list[JobRecord],
    prices: PriceBook,
    export_prices: PriceBook,
    base_load: PowerSeries | None,
    book: HomeBook,
    forecasts: HomeForecasts,
    settings: CemSettings,
    registry: DeviceRegistry,
    held: set[str],
    held_committed: list[PowerSlot],
    tag: str,
    reductions: ReductionBook | None = None,
) -> HomePlan:
    """Plan the whole home at ``now``; ``held`` devices are left out, ``held_committed`` is what they still do."""
    home = settings.home
    slot = settings.slot_duration
    start = floor_to_slot(now, slot)
    job_list, placed = job_devices(now, jobs, registry, settings)
    needed = [job.offer.latest_end for job in placed]
    needed += [c.desired_finish for c in book.conditions.values() if c.desired_finish and c.desired_finish > now]
    tariff_end = max(profile.end for profile in prices.profiles)
    end = home_horizon_end(start, tariff_end, needed, home)
    grid = Grid(start=start, slot=slot, count=max(1, -(-(end - start) // slot)))
    reductions = reductions or ReductionBook()
    rules = GenerationRules(
        off=reductions.generation_off(now),
        keep_generation=reductions.generation_kept(now),
        relaxed=reductions.relaxations(now),
    )
    built = home_devices(book, grid, now, forecasts, home, held, rules, settings.zone)
    devices: list[PlannerDevice] = [*job_list, *built.devices]
    view = prices.view(start, grid.end)
    exports = export_prices.view(start, grid.end).slots if export_prices.profiles else ()
    if home.sell_threshold_per_kwh is not None:  # story JWG13: no selling at or below the user's threshold
        threshold = home.sell_threshold_per_kwh
        exports = tuple(
            slot if slot.price_per_kwh > threshold else slot.model_copy(update={"price_per_kwh": 0.0})
            for slot in exports
        )
    committed = committed_load(now, running, base_load) + built.committed + held_committed
    problem = PlanningProblem(
        start=start,
        slot_duration=slot,
        end=grid.end,
        currency=view.currency,
        prices=view.slots,
        export_prices=exports,
        site=SiteLimits(
            import_limit_w=settings.site_import_limit_w,
            export_limit_w=settings.site_export_limit_w,
            import_limits=reductions.limits(now, PowerFlow.IMPORT),
            export_limits=reductions.limits(now, PowerFlow.EXPORT),
            committed_load=tuple(committed),
        ),
        devices=tuple(devices),
        objective=settings.objective,
        weights=settings.objective_weights,
    )
    plan = solve(problem, time_limit_s=settings.planner_time_limit_s)

    def rated(device_id: str) -> float | None:
        record = registry.get(device_id)
        return None if record is None else record.capabilities.max_power_w

    described = [device.device_id for device in built.devices]
    schedules = setpoint_schedules(plan, problem, book, described, rated, tag)
    user_settings = [c.settings for c in book.conditions.values() if book.get(c.device_id) and c.device_id not in held]
    notes = list(built.notes)
    if view.assumed_from:
        notes.append(f"prices assumed from {view.assumed_from[0].isoformat()} on (beyond the known tariff)")
    return HomePlan(plan, problem, placed, schedules, user_settings, notes)
