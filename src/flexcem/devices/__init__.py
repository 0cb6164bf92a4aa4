"""Smart-device agents (protocol state machine + physics): appliances with a flexible start, EVs, and the
continuously running home devices — battery, PV, heat pump, water heater, air conditioner, fuel cell, base load."""

from flexcem.data.citylearn import DATA_CLOCK, DATA_START, SITE, CityLearnData, Site
from flexcem.devices.agent import DeviceAgent, Job, Notice
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.air_conditioner_agent import AirConditionerAgent
from flexcem.devices.appliance import Dishwasher, ProgrammeAppliance, TumbleDryer, WashingMachine
from flexcem.devices.base_load import BaseLoad
from flexcem.devices.battery import DEFAULT_BATTERY, BatteryModel, BatteryStep
from flexcem.devices.battery_agent import BatteryAgent
from flexcem.devices.ev import ElectricVehicle, EvBattery
from flexcem.devices.fuel_cell import DEFAULT_FUEL_CELL, DEFAULT_FUEL_CELL_TANK, FuelCellModel
from flexcem.devices.fuel_cell_agent import FuelCellAgent
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel, HeatPumpStep, SpaceMode
from flexcem.devices.heat_pump_agent import HeatPumpAgent
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.hot_water import HotWaterTank, TankStep
from flexcem.devices.power_log import PowerLog
from flexcem.devices.programmes import DISHWASHER_PROGRAMMES, DRYER_PROGRAMMES, WASHER_PROGRAMMES, Programme
from flexcem.devices.pv import DEFAULT_PV, PvGenerator, pv_forecast_series, pv_forecast_w
from flexcem.devices.pv_agent import PvAgent
from flexcem.devices.room import DEFAULT_ROOM, Room, ZonePower, power_to_band, room_gains_w
from flexcem.devices.state_machine import ALLOWED, InvalidTransition, check_transition
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.devices.water_heater_agent import WaterHeaterAgent

__all__ = [
    "ALLOWED",
    "DATA_CLOCK",
    "DATA_START",
    "DEFAULT_AIR_CONDITIONER",
    "DEFAULT_BATTERY",
    "DEFAULT_FUEL_CELL",
    "DEFAULT_FUEL_CELL_TANK",
    "DEFAULT_HEAT_PUMP",
    "DEFAULT_HEAT_PUMP_TANK",
    "DEFAULT_PV",
    "DEFAULT_ROOM",
    "DEFAULT_WATER_HEATER_TANK",
    "DISHWASHER_PROGRAMMES",
    "DRYER_PROGRAMMES",
    "SITE",
    "WASHER_PROGRAMMES",
    "AirConditionerAgent",
    "AirConditionerModel",
    "BaseLoad",
    "BatteryAgent",
    "BatteryModel",
    "BatteryStep",
    "CityLearnData",
    "DeviceAgent",
    "Dishwasher",
    "ElectricVehicle",
    "EvBattery",
    "FuelCellAgent",
    "FuelCellModel",
    "HeatPumpAgent",
    "HeatPumpModel",
    "HeatPumpStep",
    "HomeDeviceAgent",
    "HotWaterTank",
    "InvalidTransition",
    "Job",
    "Notice",
    "PowerLog",
    "Programme",
    "ProgrammeAppliance",
    "PvAgent",
    "PvGenerator",
    "Room",
    "Site",
    "SpaceMode",
    "TankStep",
    "TumbleDryer",
    "WashingMachine",
    "WaterHeaterAgent",
    "WaterHeaterModel",
    "ZonePower",
    "check_transition",
    "power_to_band",
    "pv_forecast_series",
    "pv_forecast_w",
    "room_gains_w",
]
