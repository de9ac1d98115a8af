"""Maximum likelihood without a finite estimate: separation in the GLMs.

With no prior (``prior_scale=None``) the logistic, multinomial and Poisson likelihoods
may have no maximum: when a direction ``v`` of the coefficients (intercept included)
never lowers the likelihood of any row and raises it on some, it keeps rising as the
coefficients run off along ``v``, and the "estimate" is wherever the optimiser stopped.

- Logistic and multinomial (Albert and Anderson, 1984): coefficient vectors ``u_k`` per
  class (``u_0 = 0``) with ``(u_{y_i} - u_k) . z_i >= 0`` for every row ``i`` and class
  ``k``, not all zero: the classes are (quasi-)completely separated. For two classes,
  ``z_i . v >= 0`` on the rows of class 1 and ``<= 0`` on those of class 0.
- Poisson (Haberman, 1974): ``z_i . v <= 0`` on the rows with a zero count, ``= 0`` on
  the others, not all zero; e.g. a category level whose counts are all 0 (its mean tends
  to 0, its coefficient to -inf).

:func:`separating_direction` decides it exactly, as a linear program (HiGHS through
``scipy.optimize.linprog``): maximise the sum of those margins over ``v`` in a box, on
the design with columns scaled to unit maximum; a positive optimum is a direction. The
LP is solved on a subset of the rows that grows until its answer is provably that of
all rows (constraint generation, :func:`_constraint_generation`): about 0.05 s for
100,000 x 20 overlapping rows where one LP on every row takes about 1 s. Above
``MAX_LP_ENTRIES`` nonzeros of the LP's constraint matrix (the worst case: building it
copies the design, and a subset may grow to every row), :func:`fitted_at_the_limit`
looks at the fit instead: fitted probabilities of the observed classes numerically 1
(Poisson: means numerically 0 at zero counts), which a finite maximum reaches only with
extreme linear predictors.

Examples
--------
>>> import numpy as np
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> separating_direction("logistic", X, np.array([0, 0, 1, 1]), np.ones(4)) is not None
True
>>> separating_direction("logistic", X, np.array([0, 1, 0, 1]), np.ones(4)) is None
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from estimators.glm.models import GLMData, GLMFit

__all__ = ["MAX_LP_ENTRIES", "check_separation", "separating_direction", "lp_entries",
           "fitted_at_the_limit", "separation_message"]

MAX_LP_ENTRIES = 2_500_000  # nonzeros of the LP's constraint matrix (rows x columns)
MARGIN = 1e-6  # a direction counts when its margins sum above this (columns at unit max)
VIOLATION = 1e-7  # a margin below -VIOLATION fails a subset's direction (HiGHS' tolerance)
INITIAL_ROWS, CUTS = 2000, 2000  # the first subset of rows, the rows added per round
# fallback: probabilities within this of 1 (Poisson: means this close to 0, relative to
# the mean count). On separated data L-BFGS stops (mean gradient below 1e-10) with such
# rows within about 1e-10 / (their share of the rows) of the limit; a finite maximum
# comes this close only for rows with linear predictors beyond about 18
AT_THE_LIMIT = 1e-8


def _design(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """The design (with an intercept column when fitted), columns scaled to unit max."""
    Z = np.column_stack([X, np.ones(len(X))]) if fit_intercept else np.asarray(X, float)
    top = np.abs(Z).max(axis=0)
    return Z / np.where(top > 0, top, 1.0)


def lp_entries(family: str, n: int, d: int, n_classes: int = 2,
               fit_intercept: bool = True) -> int:
    """Nonzero entries (at most) of the LP's constraint matrix, ``n`` rows, ``d`` features."""
    p = d + int(fit_intercept)
    return n * p * (2 * (n_classes - 1) if family == "multinomial" else 1)


def _margins(family: str, Z: np.ndarray, y: np.ndarray, n_classes: int
             ) -> tuple[np.ndarray | sparse.csr_array, np.ndarray | None]:
    """Matrices ``A`` (margins ``A v`` that must be >= 0) and ``E`` (``E v = 0``)."""
    if family == "poisson":
        zero = y == 0
        return -Z[zero], Z[~zero]
    if family == "logistic":
        return np.where(y[:, None] > 0, Z, -Z), None
    # multinomial: one row per (row i, class k != y_i): (u_{y_i} - u_k) . z_i >= 0, the
    # unknowns u_1 .. u_{K-1} side by side (u_0 = 0)
    p = Z.shape[1]
    codes = y.astype(np.int64)
    data, rows, columns, start = [], [], [], 0
    block = np.arange(p)
    for k in range(n_classes):
        chosen = np.flatnonzero(codes != k)
        index = start + np.arange(len(chosen))
        own = codes[chosen]
        signed = [(own != 0, own, Z[chosen])]  # + z_i in the block of the row's class
        if k != 0:  # - z_i in the block of class k
            signed.append((np.ones(len(chosen), bool), np.full(len(chosen), k), -Z[chosen]))
        for mask, cls, values in signed:
            data.append(values[mask].ravel())
            rows.append(np.repeat(index[mask], p))
            columns.append(((cls[mask] - 1)[:, None] * p + block).ravel())
        start += len(chosen)
    A = sparse.coo_array((np.concatenate(data), (np.concatenate(rows),
                                                 np.concatenate(columns))),
                         shape=(start, (n_classes - 1) * p))
    return A.tocsr(), None


def separating_direction(family: str, X: np.ndarray, y: np.ndarray, weights: np.ndarray,
                         n_classes: int = 2, fit_intercept: bool = True
                         ) -> np.ndarray | None:
    """A direction of the coefficients along which the likelihood rises without bound,
    or None when the maximum likelihood estimate is finite.

    Parameters
    ----------
    family : {"logistic", "multinomial", "poisson"}
    X : ndarray of shape (n, d)
        The design (no intercept column).
    y : ndarray of shape (n,)
        0/1 (logistic), class codes 0..K-1 (multinomial) or counts (poisson).
    weights : ndarray of shape (n,)
        Sample weights: rows of zero weight are left out, the others count alike.
    n_classes : int
        K for the multinomial.
    fit_intercept : bool
        Whether the model has an intercept (the direction's last entry then).

    Returns
    -------
    ndarray of shape (d + fit_intercept,) or (K - 1, d + fit_intercept), or None
        The direction on the scaled design: its nonzero entries name the columns (and
        classes) involved.
    """
    keep = weights > 0
    Z = _design(X[keep], fit_intercept)
    y = np.asarray(y)[keep]
    A, E = _margins(family, Z, y, n_classes)
    if A.shape[0] == 0:
        return None
    direction = _constraint_generation(A, E)
    if direction is None:
        return None
    direction = np.where(np.abs(direction) > 1e-9, direction, 0.0)
    if family == "multinomial":
        return direction.reshape(n_classes - 1, -1)
    return direction


def _lp(A: Any, E: Any) -> np.ndarray | None:
    """The LP: a direction in the box maximising the sum of the margins ``A v >= 0``
    (with ``E v = 0``), or None when that sum cannot pass ``MARGIN``."""
    objective = -np.asarray(A.sum(axis=0)).ravel()
    # HiGHS' presolve costs more than it saves on these dense tall problems
    result = linprog(objective, A_ub=-sparse.csc_array(A), b_ub=np.zeros(A.shape[0]),
                     A_eq=None if E is None or E.shape[0] == 0 else sparse.csc_array(E),
                     b_eq=None if E is None or E.shape[0] == 0 else np.zeros(E.shape[0]),
                     bounds=(-1.0, 1.0), method="highs", options={"presolve": False})
    if result.status != 0 or -result.fun <= MARGIN:
        return None
    return result.x


def _constraint_generation(A: Any, E: Any) -> np.ndarray | None:
    """:func:`_lp` on all rows, solved on a growing subset of them (exact, and much
    cheaper when the rows are many).

    A subset's LP decides the whole when (a) it finds a direction that keeps the margins
    of every row >= 0 (and ``E v = 0``): a direction of the whole; or (b) it finds none,
    so every direction keeping the subset's margins >= 0 keeps them all 0, i.e. lies in
    the null space of the subset's rows, and no row of the whole sees that null space
    (full column rank: it is {0}): then no direction moves any margin. Otherwise the rows
    that fail the direction, or that see the null space, join the subset (at most
    ``CUTS`` of each kind per round); past half the rows, the whole LP is solved.
    """
    n_a, n_e = A.shape[0], 0 if E is None else E.shape[0]
    start = max(INITIAL_ROWS, 20 * A.shape[1])
    if n_a + n_e <= 2 * start:
        return _lp(A, E)
    rng = np.random.default_rng(0)  # a fixed sample: the answer does not depend on it
    rows_a = np.sort(rng.choice(n_a, min(n_a, start), replace=False))
    rows_e = np.sort(rng.choice(n_e, min(n_e, start), replace=False)) if n_e else \
        np.zeros(0, np.int64)
    while len(rows_a) + len(rows_e) < (n_a + n_e) // 2:
        sub_e = None if E is None else E[rows_e]
        v = _lp(A[rows_a], sub_e)
        if v is None:  # the worst a row of the whole moves along the subset's null space
            moved_a, moved_e = _null_space_reach(A, E, rows_a, rows_e)
        else:
            moved_a = np.maximum(-(A @ v), 0.0)
            moved_e = np.abs(E @ v) if n_e else np.zeros(0)
        bad_a = np.flatnonzero(moved_a > VIOLATION)
        bad_e = np.flatnonzero(moved_e > VIOLATION)
        if not len(bad_a) and not len(bad_e):
            return v
        rows_a = np.union1d(rows_a, bad_a[np.argsort(-moved_a[bad_a])[:CUTS]])
        rows_e = np.union1d(rows_e, bad_e[np.argsort(-moved_e[bad_e])[:CUTS]])
    return _lp(A, E)


def _null_space_reach(A: Any, E: Any, rows_a: np.ndarray, rows_e: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``A`` and ``E``, the largest margin a unit vector of the null
    space of the chosen rows gives it (zeros when that null space is {0})."""
    chosen = [A[rows_a]] + ([E[rows_e]] if E is not None and len(rows_e) else [])
    dense = np.vstack([c.toarray() if sparse.issparse(c) else c for c in chosen])
    # (full U only when there are fewer rows than columns: V is then needed whole)
    _, singular, vt = np.linalg.svd(dense, full_matrices=dense.shape[0] < dense.shape[1])
    tol = singular.max(initial=0.0) * max(dense.shape) * np.finfo(float).eps
    null = vt[int(np.sum(singular > tol)):].T  # (p, r)
    if null.shape[1] == 0:
        return np.zeros(A.shape[0]), np.zeros(0 if E is None else E.shape[0])
    reach_a = np.abs(A @ null).max(axis=1)
    reach_e = np.abs(E @ null).max(axis=1) if E is not None and E.shape[0] else np.zeros(0)
    return reach_a, reach_e


def fitted_at_the_limit(family: str, eta: np.ndarray, y: np.ndarray,
                        weights: np.ndarray) -> int:
    """How many rows (of positive weight) the fit reproduces at the limit: their class
    with probability within ``AT_THE_LIMIT`` of 1, or (Poisson) a zero count with a mean
    within ``AT_THE_LIMIT`` of 0 relative to the mean count. ``eta``: linear predictors,
    (n,) or (n, K) for the multinomial."""
    keep = weights > 0
    eta, y = eta[keep], np.asarray(y)[keep]
    if family == "poisson":
        scale = max(float(np.mean(y)), 1e-300)
        return int(np.sum((y == 0) & (np.exp(eta) < AT_THE_LIMIT * scale)))
    if family == "logistic":
        log_miss = -np.logaddexp(0.0, np.where(y > 0, eta, -eta))  # log P(other class)
    else:
        own = np.take_along_axis(eta, y.astype(np.int64)[:, None], axis=1)
        others = np.where(np.arange(eta.shape[1]) == y.astype(np.int64)[:, None], -np.inf,
                          eta)
        log_miss = np.logaddexp.reduce(others, axis=1) - own[:, 0]  # about log P(other)
    return int(np.sum(log_miss < np.log(AT_THE_LIMIT)))


def separation_message(name: str, family: str, involved: list[str] | None = None,
                       rows: int = 0) -> str:
    """The warning: what is separated (the columns of a separating direction, or how many
    rows the fit reproduces at the limit) and the remedy."""
    if involved is not None:
        what = ("the classes are (quasi-)completely separated" if family != "poisson" else
                "the zero counts are separated (the fitted means can tend to 0 on rows whose "
                "counts are all 0, e.g. a category level with no positive count)")
        what += f": a combination of {involved} separates them"
    elif family != "poisson":
        what = (f"the classes look (quasi-)completely separated: {rows} rows are fitted "
                f"with probability 1 for their class")
    else:
        what = (f"the zero counts look separated: {rows} rows with a zero count are "
                f"fitted with a mean of 0")
    return (f"{name}: {what}. So the maximum likelihood estimate (prior_scale=None) is not "
            f"finite (separation): the coefficients grow without bound and stop wherever "
            f"the optimiser does. Set a prior_scale (e.g. prior_scale=1.0) for a finite "
            f"estimate.")


def check_separation(name: str, data: GLMData, fit: GLMFit, features: list[str]
                     ) -> str | None:
    """The warning for a maximum likelihood fit without a finite estimate, or None.

    Only for ``prior_scale=None`` and the logistic, multinomial and Poisson families: the
    exact LP (:func:`separating_direction`) up to ``MAX_LP_ENTRIES``, above it the check
    of the fit (:func:`fitted_at_the_limit`). ``features``: names of the design columns.
    """
    if data.prior_scale is not None or data.family not in ("logistic", "multinomial",
                                                           "poisson"):
        return None
    n = int(np.sum(data.weights > 0))
    k = data.n_classes
    if lp_entries(data.family, n, data.X.shape[1], k, data.fit_intercept) <= MAX_LP_ENTRIES:
        direction = separating_direction(data.family, data.X, data.y, data.weights, k,
                                         data.fit_intercept)
        if direction is None:
            return None
        names = [*features, "intercept"] if data.fit_intercept else list(features)
        used = np.any(np.atleast_2d(direction) != 0, axis=0)
        return separation_message(name, data.family, [c for c, u in zip(names, used,
                                                                        strict=True) if u])
    coef, intercept = np.asarray(fit.coef), np.asarray(fit.intercept)
    if data.family == "multinomial":  # (..., K, D), (..., K)
        coef, intercept = coef.reshape(-1, *coef.shape[-2:]), intercept.reshape(-1, k)
        eta = data.X @ coef.mean(axis=0).T + intercept.mean(axis=0)
    else:
        coef, intercept = coef.reshape(-1, coef.shape[-1]), intercept.reshape(-1)
        eta = data.X @ coef.mean(axis=0) + intercept.mean()
    rows = fitted_at_the_limit(data.family, eta, data.y, data.weights)
    return separation_message(name, data.family, rows=rows) if rows else None
