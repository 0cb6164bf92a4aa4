"""Clocks: the real one and a simulated one that runs as fast as the CPU allows."""

from flexcem.clock.base import Clock
from flexcem.clock.real import RealClock
from flexcem.clock.simulated import SimulatedClock, SimulationStalled, VirtualTimeEventLoop

__all__ = ["Clock", "RealClock", "SimulatedClock", "SimulationStalled", "VirtualTimeEventLoop"]
