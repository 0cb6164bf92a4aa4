"""The Customer Energy Manager: registry, offers, tariffs, planning, dispatch and cost reports."""

from flexcem.cem.dispatcher import Dispatcher
from flexcem.cem.forecasts import ConstantForecasts, HomeForecasts
from flexcem.cem.home_book import HomeBook, OperatingConditions
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.jobs import JobBook, JobPhase, JobRecord, Schedule
from flexcem.cem.manager import CustomerEnergyManager, JournalEntry
from flexcem.cem.planning import build_problem, committed_load, schedule_for
from flexcem.cem.price_book import PriceBook, PriceView
from flexcem.cem.registry import DeviceRecord, DeviceRegistry
from flexcem.cem.settings import CemSettings

__all__ = [
    "CemSettings",
    "ConstantForecasts",
    "CustomerEnergyManager",
    "DeviceRecord",
    "DeviceRegistry",
    "Dispatcher",
    "HomeBook",
    "HomeForecasts",
    "HomeSettings",
    "JobBook",
    "JobPhase",
    "JobRecord",
    "JournalEntry",
    "OperatingConditions",
    "PriceBook",
    "PriceView",
    "Schedule",
    "build_problem",
    "committed_load",
    "schedule_for",
]
