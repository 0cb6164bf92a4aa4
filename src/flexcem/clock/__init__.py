"""Clocks: the real one, a simulated one that runs as fast as the CPU allows, and a scaled one (real time × k)."""

from flexcem.clock.base import Clock
from flexcem.clock.real import RealClock
from flexcem.clock.scaled import ScaledClock
from flexcem.clock.simulated import SimulatedClock, SimulationStalled, VirtualTimeEventLoop

__all__ = ["Clock", "RealClock", "ScaledClock", "SimulatedClock", "SimulationStalled", "VirtualTimeEventLoop"]
