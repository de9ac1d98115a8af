"""The design of a formula on a data frame, parsed by ``formulae``: the response, the
common (fixed) terms as one design matrix, and each group-specific term as a predictor
matrix and a group index per row. Also the checks of the data (unknown columns, missing
values) and the same design evaluated on new data for predictions."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tfstats.errors import user_stacklevel

__all__ = ["CommonTerm", "GroupTerm", "Design", "make_design", "used_columns",
           "check_missing"]


@dataclass
class CommonTerm:
    """A common (fixed) term: its columns in the design matrix and their level labels."""

    name: str  # "x", "region", "x:region", as bambi names them
    columns: slice  # columns of Design.X (the intercept column excluded)
    labels: list[str]  # one per column ("south" for region[south]); empty for one column


@dataclass
class GroupTerm:
    """A group-specific term ``expr | factor``: coefficients (levels, k), one per level of
    the factor and column of the predictor."""

    name: str  # "1|county", "x|county"
    factor: str  # "county", or "county:region" for an interaction of factors
    levels: list[str]  # the factor's levels seen in fitting
    predictor: np.ndarray  # (rows, k): ones for an intercept, x for a slope
    index: np.ndarray  # (rows,) the level of each row
    labels: list[str]  # one per predictor column; empty when k == 1
    source: Any = field(repr=False, default=None)  # the formulae term, for new data

    @property
    def is_intercept(self) -> bool:
        return self.name.startswith("1|")

    @property
    def width(self) -> int:
        return self.predictor.shape[1]


@dataclass
class Design:
    """A formula's matrices: response, common design matrix, group-specific terms."""

    formula: str
    response_name: str
    response: np.ndarray  # (rows,) or (rows, 2) for p(successes, trials)
    response_kind: str  # "numeric" or "proportion"
    intercept: bool
    X: np.ndarray  # (rows, p) common design matrix without the intercept column
    common: list[CommonTerm]
    group: list[GroupTerm]
    columns: list[str]  # the data columns the predictors use
    matrices: Any = field(repr=False, default=None)  # formulae's DesignMatrices

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    def __getstate__(self) -> dict[str, Any]:
        """formulae's objects keep the caller's namespaces: pickled cut to the formula's
        names (``pickling.dumps``)."""
        from tfstats.formulas import pickling

        return {"pickled": pickling.dumps(self.__dict__, self.formula)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from tfstats.formulas import pickling

        self.__dict__.update(pickling.loads(state["pickled"]))


def _level(label: str) -> str:
    """``"region[south]"`` -> ``"south"``."""
    match = re.search(r"\[([^\[\]]*)\]$", label)
    return match.group(1) if match else label


def used_columns(formula: str, data: pd.DataFrame, response: bool = True) -> list[str]:
    """The data columns ``formula`` uses (the response's too when ``response``), raising a
    ValueError that names a column the data lack."""
    from formulae import model_description

    description = model_description(formula)
    names = set(description.var_names) if response else set().union(
        *(term.var_names for term in description.terms))
    names.discard("")  # formulae lists "" for some calls, e.g. np.log(x**2)
    missing = sorted(n for n in names if n not in data.columns)
    if missing:
        raise ValueError(f"the formula {formula!r} uses the column(s) {missing}, which the data "
                         f"do not have; its columns are {list(data.columns)}")
    return [c for c in data.columns if c in names]


def check_missing(data: pd.DataFrame, columns: list[str], dropna: bool,
                  what: str = "data") -> pd.DataFrame:
    """``data`` without rows that miss a value in ``columns`` (``dropna``, with a warning
    saying how many), or a ValueError naming the columns with missing values."""
    missing = data[columns].isna()
    if not missing.to_numpy().any():
        return data
    counts = {c: int(n) for c, n in missing.sum().items() if n}
    rows = missing.any(axis=1)
    if not dropna:
        hint = ", or pass dropna=True to drop those rows" if what == "data" else ""
        raise ValueError(f"the {what} have missing values (NaN/None) in column(s) "
                         f"{list(counts)} ({counts} rows); fill them{hint}")
    warnings.warn(f"dropna=True: dropped {int(rows.sum())} of {len(data)} rows with missing "
                  f"values in column(s) {counts}", stacklevel=user_stacklevel())
    return data.loc[~rows.to_numpy()]


def _common_terms(matrices: Any) -> tuple[bool, np.ndarray, list[CommonTerm]]:
    common = matrices.common
    n = len(matrices.response.design_matrix) if matrices.response is not None else 0
    if common is None:
        return False, np.zeros((n, 0)), []
    full = np.asarray(common).astype(np.float64)
    intercept = "Intercept" in common.terms
    keep, terms, width = [], [], 0
    for name, term in common.terms.items():
        cols = common.slices[name]
        if name == "Intercept":
            continue
        k = cols.stop - cols.start
        keep.extend(range(cols.start, cols.stop))
        labels = [_level(label) for label in term.labels] if k > 1 else []
        terms.append(CommonTerm(name, slice(width, width + k), labels))
        width += k
    return intercept, full[:, keep], terms


def _group_terms(matrices: Any) -> list[GroupTerm]:
    if matrices.group is None:
        return []
    terms = []
    for name, term in matrices.group.terms.items():
        predictor = np.asarray(term.expr.data, dtype=np.float64)
        predictor = predictor.reshape(len(predictor), -1)
        index = np.asarray(term.factor.data).argmax(axis=1).astype(np.int64)
        labels = ([_level(label) for label in getattr(term.expr, "labels", [])]
                  if predictor.shape[1] > 1 else [])
        factor = name.split("|", 1)[1]
        terms.append(GroupTerm(name, factor, [str(g) for g in term.groups], predictor, index,
                               labels, term))
    return terms


def make_design(formula: str, data: pd.DataFrame, env: int = 0) -> Design:
    """Parse ``formula`` on ``data`` (already checked for missing values)."""
    from formulae import design_matrices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows are never dropped here: checked beforehand
        matrices = design_matrices(formula, data, na_action="error", env=env + 1)
    if matrices.response is None:
        raise ValueError(f"the formula {formula!r} has no response: write 'y ~ ...'")
    response = np.asarray(matrices.response.design_matrix)
    intercept, X, common = _common_terms(matrices)
    group = _group_terms(matrices)
    columns = used_columns(formula, data, response=False)
    return Design(formula, matrices.response.name, response, matrices.response.kind,
                  intercept, X, common, group, columns, matrices)


def new_common(design: Design, data: pd.DataFrame) -> np.ndarray:
    """The common design matrix (intercept excluded) for new rows."""
    common = design.matrices.common
    if common is None:
        return np.zeros((len(data), 0))
    try:
        full = np.asarray(common.evaluate_new_data(data)).astype(np.float64)
    except ValueError as error:  # formulae names the column and the new level
        raise ValueError(f"new data: {error} A common (fixed) effect cannot be predicted "
                         f"for a level it was not fitted to.") from None
    keep = [i for name, s in common.slices.items() if name != "Intercept"
            for i in range(s.start, s.stop)]
    return full[:, keep]


def new_group(term: GroupTerm, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list]:
    """A group term on new rows: (predictor (rows, k), level index (rows,), new levels);
    levels not seen in fitting get the indices after the fitted ones."""
    source = term.source
    predictor = np.asarray(source.expr.eval_new_data(data), dtype=np.float64)
    predictor = np.broadcast_to(predictor.reshape(len(data), -1), (len(data), term.width))
    index, new_levels = source.eval_new_data_group_index(data)
    return predictor, np.asarray(index, dtype=np.int64), list(new_levels)
