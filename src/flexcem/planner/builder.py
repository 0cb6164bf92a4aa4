"""Accumulates a MILP as numpy arrays and hands it to HiGHS in one piece.

Device formulations add blocks of columns, rows and coefficients (COO triplets) and objective terms at one
of the lexicographic :class:`Level` s. :meth:`ModelBuilder.to_lp` merges everything into a column-wise
(CSC) :class:`highspy.HighsLp` with one objective vector; nothing is built row by row through Python
expression objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import highspy
import numpy as np
import numpy.typing as npt

from flexcem.planner.grid import FloatArray, IntArray

__all__ = ["ColumnKind", "Level", "ModelArrays", "ModelBuilder"]

INF = float(highspy.kHighsInf)


class Level(IntEnum):
    """Objective levels, most important first (see docs/planner.md, "Objective")."""

    VIOLATION = 0
    """Soft-constraint violations in violation units (kWh of site excess, kWh of shortfall, hours late)."""
    CO2 = 1
    """CO2 of the objective "co2", imported energy of "self_consumption", CO2 of devices whose incentive is
    "greenest" (normalised)."""
    COST = 2
    """Energy cost, move penalties and the tiny tie-breaks (normalised currency)."""


class ColumnKind(IntEnum):
    """Variable types, with the values of :class:`highspy.HighsVarType`."""

    CONTINUOUS = 0
    INTEGER = 1
    SEMI_CONTINUOUS = 2


_HIGHS_TYPES = {
    ColumnKind.CONTINUOUS: highspy.HighsVarType.kContinuous,
    ColumnKind.INTEGER: highspy.HighsVarType.kInteger,
    ColumnKind.SEMI_CONTINUOUS: highspy.HighsVarType.kSemiContinuous,
}


_HIGHS_TYPE_TABLE = np.array([_HIGHS_TYPES[ColumnKind(value)] for value in range(len(ColumnKind))], dtype=object)
"""The HiGHS variable type of each :class:`ColumnKind` value, for a vectorised lookup."""


def _as_array(value: float | npt.ArrayLike, size: int) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(f"expected {size} values, got shape {array.shape}")
    return array


_HIGHS_TYPE_CODES = np.array([int(kind) for kind in _HIGHS_TYPE_TABLE], dtype=np.int32)
"""HiGHS's integrality code of every :class:`ColumnKind`."""


@dataclass(frozen=True)
class ModelArrays:
    """The model as the numpy arrays of HiGHS's ``passModel`` (column-wise matrix), which highspy reads
    without copying element by element (a :class:`highspy.HighsLp` copies every vector but the costs one
    element at a time)."""

    num_col: int
    num_row: int
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    start: npt.NDArray[np.int32]
    index: npt.NDArray[np.int32]
    value: FloatArray
    integrality: npt.NDArray[np.int32] | None
    """HiGHS's integrality code per column; None for an LP."""

    def pass_to(self, highs: highspy.Highs, col_lower: FloatArray | None = None, relax: bool = False) -> bool:
        """``highs.passModel`` of these arrays (``col_lower`` instead of the model's, continuous columns when
        ``relax``); whether HiGHS accepted it."""
        integrality = self.integrality
        if relax or integrality is None:
            integrality = np.zeros(self.num_col, dtype=np.int32)
        status = highs.passModel(
            self.num_col,
            self.num_row,
            int(self.value.size),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            self.cost,
            self.col_lower if col_lower is None else col_lower,
            self.col_upper,
            self.row_lower,
            self.row_upper,
            self.start,
            self.index,
            self.value,
            integrality,
        )
        return bool(status != highspy.HighsStatus.kError)


class ModelBuilder:
    """Columns, rows, coefficients and per-level objectives of one planning MILP."""

    def __init__(self) -> None:
        self.num_cols = 0
        self.num_rows = 0
        self._col_lower: list[FloatArray] = []
        self._col_upper: list[FloatArray] = []
        self._col_kind: list[npt.NDArray[np.int8]] = []
        self._row_lower: list[FloatArray] = []
        self._row_upper: list[FloatArray] = []
        self._entry_rows: list[IntArray] = []
        self._entry_cols: list[IntArray] = []
        self._entry_values: list[FloatArray] = []
        self._objective: dict[Level, tuple[list[IntArray], list[FloatArray]]] = {level: ([], []) for level in Level}

    # -- columns and rows ------------------------------------------------------------------------------
    def add_columns(
        self,
        count: int,
        lower: float | npt.ArrayLike = 0.0,
        upper: float | npt.ArrayLike = INF,
        kind: ColumnKind = ColumnKind.CONTINUOUS,
    ) -> IntArray:
        """Add ``count`` columns with the given bounds; returns their indices."""
        indices = np.arange(self.num_cols, self.num_cols + count, dtype=np.int64)
        self.num_cols += count
        self._col_lower.append(_as_array(lower, count))
        self._col_upper.append(_as_array(upper, count))
        self._col_kind.append(np.full(count, int(kind), dtype=np.int8))
        return indices

    def add_binaries(self, count: int) -> IntArray:
        """Add ``count`` 0/1 columns; returns their indices."""
        return self.add_columns(count, 0.0, 1.0, ColumnKind.INTEGER)

    def add_rows(self, count: int, lower: float | npt.ArrayLike = -INF, upper: float | npt.ArrayLike = INF) -> IntArray:
        """Add ``count`` rows ``lower ≤ a·x ≤ upper`` (coefficients via :meth:`add_entries`)."""
        indices = np.arange(self.num_rows, self.num_rows + count, dtype=np.int64)
        self.num_rows += count
        self._row_lower.append(_as_array(lower, count))
        self._row_upper.append(_as_array(upper, count))
        return indices

    def add_entries(self, rows: npt.ArrayLike, cols: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Add matrix coefficients as COO triplets; duplicates are summed."""
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        if not r.shape == c.shape == v.shape:
            raise ValueError("rows, cols and values differ in length")
        self._entry_rows.append(r)
        self._entry_cols.append(c)
        self._entry_values.append(v)

    def add_objective(self, level: Level, cols: npt.ArrayLike, coefs: npt.ArrayLike) -> None:
        """Add objective coefficients at ``level``; repeated columns add up."""
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(coefs, dtype=np.float64), c.shape).ravel()
        cols_list, coefs_list = self._objective[level]
        cols_list.append(c)
        coefs_list.append(np.array(v))

    # -- assembly --------------------------------------------------------------------------------------
    def objective(self, level: Level) -> FloatArray:
        """Dense objective vector of ``level``."""
        vector = np.zeros(self.num_cols)
        cols_list, coefs_list = self._objective[level]
        if cols_list:
            np.add.at(vector, np.concatenate(cols_list), np.concatenate(coefs_list))
        return vector

    @property
    def col_lower(self) -> FloatArray:
        """Lower bounds of all columns."""
        return np.concatenate(self._col_lower) if self._col_lower else np.zeros(0)

    @property
    def col_upper(self) -> FloatArray:
        """Upper bounds of all columns."""
        return np.concatenate(self._col_upper) if self._col_upper else np.zeros(0)

    @property
    def col_kind(self) -> npt.NDArray[np.int8]:
        """:class:`ColumnKind` of all columns."""
        return np.concatenate(self._col_kind) if self._col_kind else np.zeros(0, dtype=np.int8)

    def matrix_coo(self) -> tuple[IntArray, IntArray, FloatArray]:
        """All coefficients as (rows, cols, values), duplicates summed, sorted column-major."""
        if not self._entry_rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        rows = np.concatenate(self._entry_rows)
        cols = np.concatenate(self._entry_cols)
        values = np.concatenate(self._entry_values)
        key = cols * max(self.num_rows, 1) + rows
        order = np.argsort(key, kind="stable")
        key = key[order]
        values = values[order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        summed = np.add.reduceat(values, starts) if starts.size else values
        unique = key[starts]
        keep = summed != 0.0
        unique = unique[keep]
        rows_out = unique % max(self.num_rows, 1)
        cols_out = unique // max(self.num_rows, 1)
        return rows_out, cols_out, summed[keep]

    def to_arrays(self, cost: FloatArray) -> ModelArrays:
        """The model as :class:`ModelArrays` with objective ``cost`` (what :meth:`to_lp` holds, as arrays)."""
        rows, cols, values = self.matrix_coo()
        start = np.zeros(self.num_cols + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=self.num_cols), out=start[1:])
        kinds = self.col_kind
        empty = np.zeros(0)
        return ModelArrays(
            num_col=self.num_cols,
            num_row=self.num_rows,
            cost=np.ascontiguousarray(cost, dtype=np.float64),
            col_lower=np.ascontiguousarray(self.col_lower, dtype=np.float64),
            col_upper=np.ascontiguousarray(self.col_upper, dtype=np.float64),
            row_lower=np.concatenate(self._row_lower).astype(np.float64) if self._row_lower else empty,
            row_upper=np.concatenate(self._row_upper).astype(np.float64) if self._row_upper else empty,
            start=start,
            index=np.ascontiguousarray(rows, dtype=np.int32),
            value=np.ascontiguousarray(values, dtype=np.float64),
            integrality=_HIGHS_TYPE_CODES[kinds] if np.any(kinds != ColumnKind.CONTINUOUS) else None,
        )

    def to_lp(self, cost: FloatArray) -> highspy.HighsLp:
        """The model as a column-wise :class:`highspy.HighsLp` with objective ``cost``.

        highspy copies ``col_cost_`` from a numpy array directly but every other vector element by element
        through a sequence; from a list that is about twice as fast as from an array (same values).
        """
        rows, cols, values = self.matrix_coo()
        lp = highspy.HighsLp()
        lp.num_col_ = self.num_cols
        lp.num_row_ = self.num_rows
        lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
        lp.col_lower_ = self.col_lower.tolist()
        lp.col_upper_ = self.col_upper.tolist()
        lp.row_lower_ = np.concatenate(self._row_lower).tolist() if self._row_lower else []
        lp.row_upper_ = np.concatenate(self._row_upper).tolist() if self._row_upper else []
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kColwise
        matrix.num_col_ = self.num_cols
        matrix.num_row_ = self.num_rows
        start = np.zeros(self.num_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=self.num_cols), out=start[1:])
        matrix.start_ = start.tolist()
        matrix.index_ = rows.tolist()
        matrix.value_ = values.tolist()
        kinds = self.col_kind
        if np.any(kinds != ColumnKind.CONTINUOUS):
            lp.integrality_ = _HIGHS_TYPE_TABLE[kinds].tolist()
        return lp
