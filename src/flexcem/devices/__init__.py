"""Smart-device agents (protocol state machine + physics): appliances with a flexible start and EVs."""

from flexcem.devices.agent import DeviceAgent, Job, Notice
from flexcem.devices.appliance import Dishwasher, ProgrammeAppliance, TumbleDryer, WashingMachine
from flexcem.devices.ev import ElectricVehicle, EvBattery
from flexcem.devices.power_log import PowerLog
from flexcem.devices.programmes import DISHWASHER_PROGRAMMES, DRYER_PROGRAMMES, WASHER_PROGRAMMES, Programme
from flexcem.devices.state_machine import ALLOWED, InvalidTransition, check_transition

__all__ = [
    "ALLOWED",
    "DISHWASHER_PROGRAMMES",
    "DRYER_PROGRAMMES",
    "WASHER_PROGRAMMES",
    "DeviceAgent",
    "Dishwasher",
    "ElectricVehicle",
    "EvBattery",
    "InvalidTransition",
    "Job",
    "Notice",
    "PowerLog",
    "Programme",
    "ProgrammeAppliance",
    "TumbleDryer",
    "WashingMachine",
    "check_transition",
]
