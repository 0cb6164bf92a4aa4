"""What the planner's solver tests compare with: HiGHS's exact MILP optimum of a model, and a runner loaded with it."""

from __future__ import annotations

import highspy
import numpy as np

from flexcem.planner.builder import ModelBuilder
from flexcem.planner.grid import FloatArray
from flexcem.planner.highs_runner import HighsRunner


def exact_solution(builder: ModelBuilder, objective: FloatArray) -> FloatArray:
    """The columns of the model's optimum under ``objective``, solved by HiGHS alone to a relative gap of 1e-9."""
    reference = highspy.Highs()  # type: ignore[no-untyped-call]
    reference.setOptionValue("output_flag", False)
    reference.passModel(builder.to_lp(objective))
    reference.setOptionValue("mip_rel_gap", 1e-9)
    reference.run()
    assert reference.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return np.array(reference.getSolution().col_value, dtype=np.float64)


def exact_optimum(builder: ModelBuilder, objective: FloatArray) -> float:
    """The objective value of :func:`exact_solution`."""
    return float(objective @ exact_solution(builder, objective))


def loaded_runner(builder: ModelBuilder, objective: FloatArray) -> HighsRunner:
    """A :class:`HighsRunner` holding the model, its objective set to ``objective``."""
    runner = HighsRunner()
    runner.load(builder.to_lp(objective), builder.col_kind)
    runner.set_objective(objective)
    return runner
