"""vi(): automatic differentiation variational inference (ADVI) on the unconstrained space.

A Gaussian approximation (mean-field or full-rank, TFP surrogates: see ``vi_loop``) is fitted
by maximising the ELBO with stochastic gradients in one compiled loop, run in chunks of
``CHUNK`` steps for the progress bar and the convergence rule. The result gives the
approximation's draws as ``Draws``, so summaries, ``calculate`` and ArviZ work as after
``mcmc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfstats.arrays import ModelError
from tfstats.draws import Draws
from tfstats.inference.devices import placement
from tfstats.inference.gaussian_draws import SUMMARY_DRAWS, gaussian_draws, summary_moments
from tfstats.inference.gradient_steps import get_rule
from tfstats.inference.initial import initial_state
from tfstats.inference.pathfinder import ELBO_DRAWS, pathfinder_path
from tfstats.inference.progress import ChunkProgress
from tfstats.inference.vi_loop import (
    CHUNK,
    METHODS,
    build_chunk,
    initial_parameters,
    run_data,
    scale_tril,
    steps_per_call,
)
from tfstats.inference.vi_start import INITS, mode_start
from tfstats.minibatch import MinibatchData
from tfstats.model import Model
from tfstats.tracking import tracked

__all__ = ["vi", "VIResult", "converged_at", "minibatch_noise"]

@dataclass
class VIResult:
    """The result of :func:`vi`: a Gaussian approximation on the unconstrained space.

    Attributes
    ----------
    elbo : numpy.ndarray
        The ELBO estimate at each step run.
    converged : bool
        Whether the convergence rule stopped the fit before ``steps``.
    method, optimizer : str
        The approximation ("meanfield" or "fullrank") and the gradient rule.
    loc, scale_tril : numpy.ndarray
        The approximation's mean (n_free,) and lower-triangular scale (n_free, n_free) on
        the unconstrained scale (diagonal for mean-field).
    interrupted : bool
        Whether Ctrl-C stopped the fit.
    """

    elbo: np.ndarray
    converged: bool
    method: str
    optimizer: str
    loc: np.ndarray
    scale_tril: np.ndarray
    interrupted: bool = False
    model: Model | None = field(repr=False, default=None)
    _moments: dict[str, dict[str, np.ndarray]] | None = field(repr=False, default=None)

    @property
    def steps(self) -> int:
        """The number of steps run."""
        return int(self.elbo.shape[0])

    def draws(self, n: int = 1000, seed: int | None = None) -> Draws:
        """``n`` independent draws from the approximation, as one chain of ``Draws``.

        Examples
        --------
        >>> import numpy as np, tfstats as ts
        >>> mu = ts.normal(0, 10)
        >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
        >>> fit = ts.vi(ts.model(mu), steps=300, learning_rate=0.1, seed=1, progress=False)
        >>> fit.draws(500, seed=2)["mu"].shape
        (1, 500)
        """
        return gaussian_draws(self.model, self.loc, self.scale_tril, n, seed)

    def _summary_moments(self) -> dict[str, dict[str, np.ndarray]]:
        if self._moments is None:
            self._moments = summary_moments(self.draws(SUMMARY_DRAWS, seed=0))
        return self._moments

    @property
    def mean(self) -> dict[str, np.ndarray]:
        """The approximate posterior mean of every unknown and target on the constrained
        scale, by name (from 4000 draws with a fixed seed)."""
        return self._summary_moments()["mean"]

    @property
    def sd(self) -> dict[str, np.ndarray]:
        """The approximate posterior sd on the constrained scale, by name (as ``mean``)."""
        return self._summary_moments()["sd"]


def minibatch_noise(model: Model) -> float:
    """The largest ``N / batch_size`` of the model's minibatched data (1 without): the
    factor by which minibatches multiply the variance of the gradient's noise."""
    return float(max(getattr(model, "term_scales", None) or [1.0]))


def converged_at(elbo: np.ndarray, tolerance: float, window: int = CHUNK) -> bool:
    """The convergence rule: the mean ELBO over the last ``window`` steps differs from the
    mean over the ``window`` steps before by less than ``tolerance`` times its size
    (``|m_k - m_{k-1}| < tolerance * |m_k|``), as Stan's ``tol_rel_obj``. Non-finite
    estimates are left out of the means.

    Examples
    --------
    >>> import numpy as np
    >>> converged_at(np.r_[np.full(100, -10.0), np.full(100, -10.001)], 1e-3)
    True
    """
    if elbo.shape[0] < 2 * window:
        return False
    last, before = elbo[-window:], elbo[-2 * window:-window]
    last, before = last[np.isfinite(last)], before[np.isfinite(before)]
    if not last.size or not before.size:
        return False
    m_k, m_prev = float(last.mean()), float(before.mean())
    return abs(m_k - m_prev) < tolerance * abs(m_k)


def _check(method: str, steps: Any, learning_rate: Any, samples: Any, tolerance: Any) -> None:
    if method not in (*METHODS, "pathfinder"):
        raise ValueError(f"method must be one of {(*METHODS, 'pathfinder')}, got {method!r}")
    for name, value in (("steps", steps), ("samples", samples)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    for name, value in (("learning_rate", learning_rate), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")


@tracked("vi")
def vi(model: Model, method: str = "meanfield", steps: int = 10_000,
       learning_rate: float = 0.01, seed: int | None = None, progress: bool = True,
       optimizer: str = "adam", samples: int = 1, tolerance: float = 1e-4,
       init: str = "map", initial_values: dict[str, Any] | None = None,
       device: str | None = None, devices: Any = None,
       shard: str | None = None) -> VIResult:
    """Fit a Gaussian approximation to the posterior by ADVI (Kucukelbir et al. 2017).

    The approximation lives on the unconstrained space of the unknowns (where ``mcmc``
    samples), so bounded unknowns get skewed, bounded approximations on their own scale.
    The ELBO is estimated at each step from ``samples`` reparameterised draws plus the
    approximation's exact entropy, and maximised by stochastic gradient steps.

    Parameters
    ----------
    model : Model
        The model (it may use ``minibatch`` data).
    method : {"meanfield", "fullrank", "pathfinder"}
        Independent normals (a diagonal covariance) or a multivariate normal with a full
        covariance (``n_free * (n_free + 1) / 2`` more parameters; captures correlations).
        "pathfinder" (Zhang et al. 2022, single path): no stochastic steps, but the best
        by its ELBO of the normals that an L-BFGS path from a random start gives (its
        inverse Hessian estimates); ``elbo`` holds one estimate per L-BFGS iterate, each
        from ``25 * samples`` draws, and ``learning_rate``, ``optimizer``, ``tolerance``
        and ``init`` do not apply (see ``docs/variational.md``, "Pathfinder").
    steps : int
        The most gradient steps to take (pathfinder: L-BFGS iterations).
    learning_rate : float
        The optimiser's step size: with ``init="map"``, a fraction of each posterior sd.
        There, with minibatched data, the normalised rules (adam, rmsprop, adagrad) step
        by ``learning_rate * sqrt(N / batch_size)``: they divide the gradient by its
        noise, which minibatches multiply by about that factor, and would otherwise crawl
        (see ``docs/variational.md``, "Minibatches").
    seed : int, optional
        Seed for the start, the Monte Carlo draws and the minibatches.
    progress : bool
        Show a progress bar with the ELBO.
    optimizer : {"adam", "rmsprop", "adagrad", "sgd"}
        The gradient rule (``sgd`` with momentum 0.9).
    samples : int
        Monte Carlo draws per step for the ELBO and its gradient.
    tolerance : float
        Stop when the mean ELBO of the last 100 steps changes by less than ``tolerance``
        times its size from the 100 steps before (see :func:`converged_at`).
    init : {"map", "random"}
        Where the approximation starts. "map": at the mode of the unconstrained density
        (L-BFGS) with the Laplace approximation's covariance (for up to 200 unconstrained
        values; beyond, sd 0.1), so that posteriors with very different scales need few
        steps. "random": at a random point as ``mcmc``'s starts, with sd 0.1.
    initial_values : dict, optional
        Constrained starting values of the approximation's mean, by unknown name (sd 0.1);
        they override ``init``.
    device : {"cpu", "gpu"}, optional
        Where to run; by default the backend's choice.
    devices : int or list of JAX devices, optional
        JAX backend: split the rows of the data over this many of the visible devices,
        summing the ELBO's likelihood across them (1: one device). By default all of
        them when JAX sees several and the data have at least 100,000 rows: see
        ``docs/backends.md``, "Several devices". On TensorFlow only None or 1.
    shard : {"data"}, optional
        What is split over the devices: the data (the only choice; given explicitly, it
        splits data of any size).

    Returns
    -------
    VIResult
        ``elbo``, ``converged``, ``mean`` and ``sd`` by name, and ``draws(n)``. Ctrl-C
        returns the approximation reached so far.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 10)
    >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
    >>> fit = ts.vi(ts.model(mu), steps=2000, learning_rate=0.1, seed=1, progress=False)
    >>> bool(abs(fit.mean["mu"] - 1.0) < 0.1)
    True
    """
    _check(method, steps, learning_rate, samples, tolerance)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    rule = get_rule(optimizer)
    B = model.backend
    if method == "pathfinder":
        return _pathfinder(model, int(steps), int(samples), seed, initial_values, device,
                           devices, shard)
    with B.device_scope(device):
        place = placement(model, devices, shard, caller="vi", platform=device)
        if init == "map" and initial_values is None:
            loc, hessian = mode_start(model, seed, place)
        else:
            loc, hessian = initial_state(model, 1, initial_values, seed)[0], None
        params, shift, factor = initial_parameters(B, method, loc, hessian,
                                                   model.float_dtype)
        state = rule.init(params)
        run = model.compiled(("vi", method, rule.name, int(samples)),
                             lambda: build_chunk(model, method, rule, int(samples)))
        run = place.with_data(run, 8)  # the data follow 8 arguments
        # steps in posterior sds (whitened by the Laplace covariance) that a normalised rule
        # would shrink by the minibatch noise: scaled back up
        noise = minibatch_noise(model) if hessian is not None and rule.normalised else 1.0
        rate = learning_rate * math.sqrt(noise)
        rng_seed = np.random.default_rng(seed).integers(2**31 - 1) if seed is not None else None
        preconditioner = (B.convert(shift, model.float_dtype),
                          B.convert(factor, model.float_dtype))
        params, elbo, converged, interrupted = _drive(
            model, run, params, state, B.make_seed(rng_seed), int(steps),
            float(rate), float(tolerance), progress, preconditioner, seed,
            tail_share=2 if noise > 1 else 4)
        loc, tril = scale_tril(B, method, params, shift, factor)
    return VIResult(elbo=elbo, converged=converged, method=method, optimizer=rule.name,
                    loc=loc, scale_tril=tril, interrupted=interrupted, model=model)


def _pathfinder(model: Model, steps: int, samples: int, seed: int | None,
                initial_values: dict[str, Any] | None, device: str | None, devices: Any,
                shard: str | None) -> VIResult:
    if any(isinstance(n, MinibatchData) for n in model.data_nodes):
        raise ModelError("vi(method='pathfinder') cannot fit a model with minibatch() data: "
                         "its L-BFGS path needs the full log density. Use method="
                         "'meanfield' or 'fullrank', or pass the full data arrays")
    with model.backend.device_scope(device):
        place = placement(model, devices, shard, caller="vi", platform=device)
        fit = pathfinder_path(model, seed, steps, ELBO_DRAWS * samples, initial_values, place)
    return VIResult(elbo=fit.elbo, converged=fit.converged, method="pathfinder",
                    optimizer="lbfgs", loc=fit.loc, scale_tril=fit.scale_tril, model=model)


def _drive(model: Model, run: Any, params: Any, state: tuple, seed: Any, steps: int,
           learning_rate: float, tolerance: float, progress: bool,
           preconditioner: tuple, stream_seed: int | None, tail_share: int = 4) -> tuple:
    """Run chunks until ``steps`` or convergence; Ctrl-C keeps what was reached. Returns
    the parameters averaged over the last ``1 / tail_share`` of the steps run
    (Polyak-Ruppert tail averaging: with a constant learning rate the last iterate keeps
    jittering around the optimum by about the learning rate; with minibatches the average
    of W steps is off by about ``sqrt((N / batch_size) / W)`` posterior sds, so they
    average the last half), the ELBO trace and the flags."""
    B = model.backend
    feed = run_data(model, stream_seed)
    per_call = steps_per_call(model)
    rate = B.convert(learning_rate, model.float_dtype)
    elbos: list[np.ndarray] = []
    tail: list[tuple[int, int, np.ndarray]] = []  # (first step, steps, mean parameters)
    converged = False
    with ChunkProgress(progress, steps, "vi", "steps", "the approximation reached so far",
                       bar_unit="step") as progress_run:
        while progress_run.done < steps and not converged:
            done = progress_run.done
            n = min(per_call, steps - done)
            new = run(params, state, seed, B.convert(done), B.convert(n), rate,
                      *preconditioner, *feed())
            params, state, seed = new[0], tuple(new[1]), new[2]
            tail.append((done, n, np.asarray(B.to_numpy(new[4]), np.float64)))
            elbos.append(np.asarray(B.to_numpy(new[3]), np.float64)[:n])
            recent = elbos[-1][np.isfinite(elbos[-1])]
            progress_run.update(n, elbo=f"{recent.mean():.4g}" if recent.size else "nan")
            done = progress_run.done
            start = done - max(done // tail_share, CHUNK)
            tail = [t for t in tail if t[0] >= start] or tail[-1:]
            converged = done % CHUNK == 0 and converged_at(np.concatenate(elbos), tolerance)
    interrupted = progress_run.interrupted
    elbo = np.concatenate(elbos) if elbos else np.zeros(0)
    if not tail:
        return np.asarray(B.to_numpy(params), np.float64), elbo, converged, interrupted
    weights = np.array([t[1] for t in tail], np.float64)
    average = np.tensordot(weights / weights.sum(), np.stack([t[2] for t in tail]), axes=1)
    return average, elbo, converged, interrupted

