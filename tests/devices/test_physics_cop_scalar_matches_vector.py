"""The plain-float COP and EER a device agent asks every step equal the vector ones the planner uses."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flexcem.physics import carnot_cop, carnot_cop_at, cooling_eer, cooling_eer_at

temperatures = st.floats(min_value=-40.0, max_value=60.0, allow_nan=False)


@given(outdoor_c=temperatures, supply_c=st.floats(min_value=25.0, max_value=75.0))
def test_heating_cop_of_one_temperature_equals_the_vector_one(outdoor_c: float, supply_c: float) -> None:
    vector = carnot_cop(np.array([outdoor_c]), supply_c, 0.45, 6.0)
    assert carnot_cop_at(outdoor_c, supply_c, 0.45, 6.0) == float(vector[0])


@given(outdoor_c=temperatures, evaporator_c=st.floats(min_value=0.0, max_value=20.0))
def test_cooling_eer_of_one_temperature_equals_the_vector_one(outdoor_c: float, evaporator_c: float) -> None:
    vector = cooling_eer(np.array([outdoor_c]), evaporator_c, 0.3, 8.0)
    assert cooling_eer_at(outdoor_c, evaporator_c, 0.3, 8.0) == float(vector[0])


def test_the_limits_hold_at_the_edges() -> None:
    assert carnot_cop_at(50.0, 55.0, 0.45, 6.0) == 6.0  # 5 K minimum lift, capped at cop_max
    assert carnot_cop_at(-40.0, 55.0, 0.1, 6.0) == 1.0  # never below 1
    assert cooling_eer_at(10.0, 7.0, 0.3, 8.0) == 8.0
