"""The compiled ADVI loop behind ``vi``: surrogate posteriors, the ELBO and its gradient.

The approximation is a TFP ``MultivariateNormalDiag`` (mean-field) or
``MultivariateNormalTriL`` (full-rank) of ``w``, where ``z = shift + factor @ w`` is the
model's unconstrained vector (``initial_parameters``), its scales kept positive by a
softplus bijector; its parameters are one flat vector that a gradient rule
(``gradient_steps``) moves. The ELBO is estimated as in Stan's ADVI (Kucukelbir et al.
2017): the mean of the Jacobian-adjusted log density at ``samples`` reparameterised draws
plus the surrogate's exact entropy. A chunk of up to ``CHUNK`` steps is one compiled call;
minibatched data are passed whole and their rows drawn inside the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats.inference.batched_density import batched_density as batched_log_density
from tfstats.inference.gradient_steps import GradientRule
from tfstats.minibatch import MinibatchData, batch_of, full_data_tensors
from tfstats.model import Model
from tfstats.streams import chunk_feeder

__all__ = ["CHUNK", "STREAM_VALUES", "steps_per_call", "INITIAL_SCALE", "XLA_DATA_SIZE",
           "METHODS", "surrogate", "initial_parameters", "build_chunk", "scale_tril"]

CHUNK = 100  # steps per compiled call, and the window of the convergence rule
STREAM_VALUES = 1_000_000  # the most data values of a stream passed to one call
XLA_DATA_SIZE = 100_000  # data values from which the loop is compiled by XLA (TensorFlow)
INITIAL_SCALE = 0.1  # the surrogate's starting sd on the unconstrained scale (NumPyro's)
METHODS = ("meanfield", "fullrank")


def _tril_bijector(B: Any) -> Any:
    return B.tfb.FillScaleTriL(diag_bijector=B.tfb.Softplus(), diag_shift=None)


def surrogate(B: Any, method: str, params: Any, n: int) -> Any:
    """The TFP distribution that ``params`` (loc, then raw scales) describe."""
    loc = params[:n]
    if method == "meanfield":
        return B.tfd.MultivariateNormalDiag(loc, B.tfb.Softplus().forward(params[n:]))
    return B.tfd.MultivariateNormalTriL(loc, _tril_bijector(B).forward(params[n:]))


def initial_parameters(B: Any, method: str, loc: np.ndarray, hessian: np.ndarray | None,
                       dtype: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(params, shift, factor)``: the surrogate is fitted to ``w`` with
    ``z = shift + factor @ w`` (``factor * w`` for mean-field), a preconditioning that
    makes the learning rate a fraction of each posterior sd. With a Hessian at the mode
    ``loc`` the factor is the Laplace approximation's (mean-field: its conditional sds
    ``1 / sqrt(diag(hessian))``, the best a diagonal can do for a Gaussian) and ``w``
    starts as a standard normal; without one, ``w`` starts at ``loc`` with sd
    ``INITIAL_SCALE``."""
    n = loc.shape[0]
    if hessian is None:
        shift, start, sd = np.zeros(n), loc, INITIAL_SCALE
        factor = np.ones(n) if method == "meanfield" else np.eye(n)
    else:
        shift, start, sd = loc, np.zeros(n), 1.0
        factor = (1 / np.sqrt(np.diag(hessian)) if method == "meanfield"
                  else np.linalg.cholesky(np.linalg.inv(hessian)))
    if method == "meanfield":
        raw = np.full(n, np.log(np.expm1(sd)))
    else:
        raw = B.to_numpy(_tril_bijector(B).inverse(B.convert(sd * np.eye(n), dtype)))
    params = B.convert(np.concatenate([start, np.asarray(raw, np.float64)]), dtype)
    return params, shift, factor


def scale_tril(B: Any, method: str, params: np.ndarray, shift: np.ndarray,
               factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The approximation of ``z`` as numpy: mean and lower-triangular scale."""
    n = shift.shape[0]
    q = surrogate(B, method, B.convert(params), n)
    tril = np.asarray(B.to_numpy(q.scale.to_dense()), np.float64)
    loc = params[:n]
    if method == "meanfield":
        return shift + factor * loc, factor[:, None] * tril
    return shift + factor @ loc, factor @ tril


def build_chunk(model: Model, method: str, rule: GradientRule, samples: int) -> Callable:
    """Compiled ``(params, state, seed, start, n_iter, rate, shift, factor, *data) ->
    (params, state,
    seed, elbos, average)``: ``n_iter`` (at most ``CHUNK``) steps of the gradient rule on
    the ELBO; ``average`` is the mean of the parameters over those steps (iterate
    averaging: the result of a converged fit, less noisy than the last step)."""
    B = model.backend
    dtype = model.float_dtype
    n = model.n_free

    batched_density = batched_log_density(model)

    def elbo_of(params: Any, seed: Any, data: tuple, shift: Any, factor: Any) -> Any:
        q = surrogate(B, method, params, n)
        w = q.sample(samples, seed=seed)
        if method == "meanfield":
            z, log_det = shift + factor * w, B.np.sum(B.np.log(factor))
        else:
            z = shift + B.np.matmul(w, B.np.transpose(factor))
            log_det = B.np.sum(B.np.log(B.linalg.diag_part(factor)))
        return B.np.mean(batched_density(z, *data)) + q.entropy() + log_det

    def chunk(params: Any, state: tuple, seed: Any, start: Any, n_iter: Any, rate: Any,
              shift: Any, factor: Any, *full: Any) -> tuple:
        def body(i: Any, params_: Any, state_: tuple, seed_: Any, elbos: Any,
                 total: Any) -> tuple:
            seeds = B.split_seed(seed_, 3)
            data = batch_of(model, full, seeds[1], i)
            elbo, grad = B.value_and_gradient(lambda p: elbo_of(p, seeds[0], data, shift, factor),
                                               params_)
            ok = B.np.isfinite(elbo) & B.np.all(B.np.isfinite(grad))
            grad = B.np.where(ok, grad, B.np.zeros_like(grad))
            change, new_state = rule.update(B, grad, state_, start + i + 1, rate)
            # a step with a non-finite ELBO or gradient leaves everything as it was
            state_ = tuple(B.np.where(ok, a, b) for a, b in zip(new_state, state_,
                                                                 strict=True))
            params_ = params_ + B.np.where(ok, change, B.np.zeros_like(change))
            elbos = B.write(elbos, i, B.cast(elbo, dtype))
            return i + 1, params_, state_, seeds[2], elbos, total + params_

        elbos = B.np.full((CHUNK,), np.nan, dtype=dtype)
        loop = (B.convert(0), params, tuple(state), seed, elbos, B.np.zeros_like(params))
        _, params, state, seed, elbos, total = B.while_loop(lambda i, *_: i < n_iter, body,
                                                            loop)
        return params, state, seed, elbos, total / B.cast(n_iter, dtype)

    # XLA fuses the per-row work of large data; for small data its compile time (about
    # 6 s against 1 s) is more than the whole fit
    large = _data_size(model) >= XLA_DATA_SIZE
    return B.compile_function(chunk, xla=None if large else False)


def _data_size(model: Model) -> int:
    """Data values a compiled call receives (a stream: ``CHUNK`` batches)."""
    total = 0
    for node in model.data_nodes:
        if not isinstance(node, MinibatchData):
            total += node.value.size
        else:
            total += (node.full.size if node.full is not None
                      else steps_per_call(model) * node.value.size)
    return total


def steps_per_call(model: Model) -> int:
    """``CHUNK``, or for a streamed model the largest divisor of ``CHUNK`` whose batches
    hold at most ``STREAM_VALUES`` values (a call receives all its batches at once)."""
    per_step = sum(n.value.size for n in model.data_nodes
                   if isinstance(n, MinibatchData) and n.full is None)
    if not per_step:
        return CHUNK
    fits = max(1, STREAM_VALUES // per_step)
    return max(k for k in range(1, CHUNK + 1) if CHUNK % k == 0 and k <= fits)


def run_data(model: Model, seed: int | None) -> Callable[[], tuple]:
    """``() -> data arguments`` of the next call: in-memory minibatched inputs whole, the
    next ``steps_per_call`` batches of each stream, the rest as usual."""
    return chunk_feeder(model, full_data_tensors(model), steps_per_call(model), seed)
