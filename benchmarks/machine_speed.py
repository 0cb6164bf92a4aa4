"""How fast this machine runs Python now, so that benchmark figures from different days can be compared.

The machines the benchmarks run on differ from day to day (the same code ran the 100-home simulation in
14 s one day and in 29 s the next), so every result file records :func:`reference` next to its figures:
the best of three runs of a fixed pure-Python workload (calls, attribute access, dict and list work,
float arithmetic — what the simulation spends its interpreter time on). Two CPU-bound figures measured
on different days compare after dividing each by its file's ``reference_s``.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["reference"]


class _Point:
    __slots__ = ("t", "value")

    def __init__(self, t: int, value: float) -> None:
        self.t = t
        self.value = value


def _workload() -> float:
    """A fixed interpreter-bound workload; returns a checksum so nothing is optimised away."""
    table: dict[int, _Point] = {}
    total = 0.0
    for i in range(300_000):
        point = _Point(i, i * 0.5)
        table[i % 1024] = point
        total += table[(i * 7) % 1024].value if (i * 7) % 1024 in table else 0.0
        total += sum([point.value, 1.0, 2.0]) * 1e-9
    return total


def reference(repeats: int = 3) -> dict[str, Any]:
    """The workload's best wall time [s] of ``repeats`` runs, with the load average when it was measured."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - began)
    return {
        "reference_s": round(best, 4),
        "loadavg_1min": float(open("/proc/loadavg").read().split()[0]),
        "what": "best of 3 runs of benchmarks/machine_speed.py's fixed pure-Python workload",
    }


if __name__ == "__main__":
    print(reference())
