"""Grid-side actors (Actor A and B): tariff, traffic-light, load-management, emergency, energy-saving and
direct-control programs; the smart meter and the metering head-end."""

from flexcem.grid.direct_control import CONTROL_TYPES, DirectControlProgram
from flexcem.grid.emergency import CONFIRM_END, CONFIRM_START, EmergencyProgram
from flexcem.grid.energy_saving import EnergySavingProgram
from flexcem.grid.head_end import MeteringHeadEnd, Received
from flexcem.grid.load_management import EventSummary, LoadManagementProgram
from flexcem.grid.program import GridProgram
from flexcem.grid.records import MemorySignalStore, Refusal, Response, SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry, Target, UnknownTarget
from flexcem.grid.smart_meter import LoadSource, SmartMeter, TariffSchedule, average_curve
from flexcem.grid.tariff_program import PriceSource, TariffProgram
from flexcem.grid.traffic_light import TrafficLightProgram

__all__ = [
    "CONFIRM_END",
    "CONFIRM_START",
    "CONTROL_TYPES",
    "DirectControlProgram",
    "EmergencyProgram",
    "EnergySavingProgram",
    "EventSummary",
    "GridProgram",
    "GridRegistry",
    "LoadManagementProgram",
    "LoadSource",
    "MemorySignalStore",
    "MeteringHeadEnd",
    "PriceSource",
    "Received",
    "Refusal",
    "Response",
    "SignalRecord",
    "SignalStore",
    "SmartMeter",
    "Target",
    "TariffProgram",
    "TariffSchedule",
    "TrafficLightProgram",
    "UnknownTarget",
    "average_curve",
]
