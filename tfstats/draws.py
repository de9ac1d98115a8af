"""Draws: named posterior draws with summaries, diagnostics, ArviZ export, save / load."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from tfstats.errors import user_stacklevel
from tfstats.inference.metric import inverse_mass
from tfstats.inference_data import to_inference_data
from tfstats.labels import element_labels
from tfstats.persistence import reattached, saved_state

__all__ = ["Draws", "summarise"]

_STAT_NAMES = ("accept", "divergent", "n_steps", "energy", "step_size", "log_density")


def _diagnostics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Rank-normalised R-hat, bulk and tail ESS (Vehtari et al. 2021) via arviz-stats, for
    values of shape (chains, draws, k)."""
    from arviz_stats.base import array_stats

    if values.shape[1] < 4:
        nan = np.full(values.shape[2], np.nan)
        return {"ess_bulk": nan, "ess_tail": nan, "r_hat": nan}
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "ess_bulk": array_stats.ess(values, chain_axis=0, draw_axis=1, method="bulk"),
            "ess_tail": array_stats.ess(values, chain_axis=0, draw_axis=1, method="tail",
                                        prob=(0.05, 0.95)),
            "r_hat": array_stats.rhat(values, chain_axis=0, draw_axis=1, method="rank"),
        }


def _constant_elements(pooled: np.ndarray) -> np.ndarray:
    """Elements equal in every draw (the unit diagonal of a correlation matrix): they have
    no diagnostics, so they are left out of summaries and warnings."""
    if pooled.shape[0] < 2:
        return np.zeros(pooled.shape[1], dtype=bool)
    spread = np.ptp(pooled, axis=0)
    scale = np.maximum(np.abs(pooled[0]), 1.0)
    return spread <= 64 * np.finfo(pooled.dtype if pooled.dtype.kind == "f"
                                   else np.float64).eps * scale


def summarise(values: dict[str, np.ndarray], dims: dict[str, list] | None = None,
              coords: dict[str, list] | None = None) -> pd.DataFrame:
    """One row per scalar of each (chains, draws, *shape) array: mean, sd, q5, q50, q95,
    mcse_mean, ess_bulk, ess_tail, r_hat. Rows are labelled by ``dims`` and ``coords``
    (``alpha[AITKIN]``); elements constant over all draws are left out."""
    frames = []
    for name, array in values.items():
        chains, n = array.shape[:2]
        size = int(np.prod(array.shape[2:], dtype=np.int64))
        flat = array.reshape(chains, n, size)  # explicit size: n may be 0 (interrupted)
        pooled = flat.reshape(chains * n, size)
        keep = ~_constant_elements(pooled)
        flat, pooled = flat[:, :, keep], pooled[:, keep]
        size = int(keep.sum())
        diag = _diagnostics(flat)
        nan = np.full(size, np.nan)
        sd = pooled.std(axis=0, ddof=1) if chains * n > 1 else nan
        if chains * n:
            mean = pooled.mean(axis=0)
            q5, q50, q95 = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
        else:
            mean = q5 = q50 = q95 = nan
        labels = element_labels(name, array.shape[2:], dims, coords)
        frames.append(pd.DataFrame({
            "mean": mean, "sd": sd, "q5": q5, "q50": q50, "q95": q95,
            "mcse_mean": sd / np.sqrt(diag["ess_bulk"]), **diag,
        }, index=[label for label, k in zip(labels, keep, strict=True) if k]))
    return pd.concat(frames) if frames else pd.DataFrame()


class Draws:
    """Posterior draws by name, each an array of shape ``(chains, draws, *shape)``.

    Attributes
    ----------
    stats : dict of str -> numpy.ndarray
        Sampler statistics per draw, shape (chains, draws): accept, divergent, n_steps
        (leapfrog steps), energy, step_size, log_density.
    step_size, inverse_mass : numpy.ndarray
        The tuned step size (chains,) and inverse mass matrix: diagonal (chains, n_free),
        or (chains, n_free, n_free) with ``nuts(metric="dense")``.
    coords, dims : dict
        Axis labels, ArviZ style (from the model's ``coords`` and ``dims``): they name
        summary rows (``alpha[AITKIN]``), data-frame columns and ArviZ coordinates.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 10)
    >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
    >>> draws = ts.mcmc(ts.model(mu), n_samples=200, warmup=200, chains=2, seed=1,
    ...                 progress=False)
    >>> list(draws.summary().columns[:5])
    ['mean', 'sd', 'q5', 'q50', 'q95']
    """

    def __init__(self, values: dict[str, np.ndarray], stats: dict[str, np.ndarray],
                 model: Any = None, sampler: Any = None, chain_state: Any = None,
                 thin: int = 1, interrupted: bool = False,
                 targets: list[str] | None = None, coords: dict[str, Any] | None = None,
                 dims: dict[str, Any] | None = None) -> None:
        self.values = values
        self.stats = stats
        self.model = model
        self.sampler = sampler
        self.chain_state = chain_state
        self.thin = thin
        self.interrupted = interrupted
        self.targets = list(targets) if targets is not None else list(values)
        self.coords = dict(coords if coords is not None else getattr(model, "coords", {}))
        self.dims = dict(dims if dims is not None else getattr(model, "dims", {}))

    @classmethod
    def from_chains(cls, model: Any, draws: dict[str, np.ndarray], state: Any, sampler: Any,
                    thin: int, interrupted: bool) -> Draws:
        """From the driver's (draws, chains, ...) buffers."""
        x = np.swapaxes(draws["x"], 0, 1)  # (chains, draws, n_free)
        values = model.constrain_draws(x)
        stats = {k: np.swapaxes(draws[k], 0, 1) for k in _STAT_NAMES}
        return cls(values, stats, model, sampler, state, thin, interrupted,
                   targets=list(model.targets))

    def extended(self, new: dict[str, np.ndarray], state: Any, interrupted: bool) -> Draws:
        """These draws followed by ``new`` (from continuing the chains)."""
        more = Draws.from_chains(self.model, new, state, self.sampler, self.thin, interrupted)
        values = {k: np.concatenate([v, more.values[k]], axis=1) for k, v in self.values.items()}
        stats = {k: np.concatenate([v, more.stats[k]], axis=1) for k, v in self.stats.items()}
        return Draws(values, stats, self.model, self.sampler, state, self.thin, interrupted,
                     self.targets, self.coords, self.dims)

    # --- access --------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.values:
            raise KeyError(f"no draws named {name!r}; available: {list(self.values)}")
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def keys(self) -> list[str]:
        return list(self.values)

    @property
    def n_chains(self) -> int:
        return next(iter(self.values.values())).shape[0]

    @property
    def n_draws(self) -> int:
        return next(iter(self.values.values())).shape[1]

    def __repr__(self) -> str:
        return (f"<tfstats Draws: {self.n_chains} chains x {self.n_draws} draws of "
                f"{', '.join(self.targets)}; {self.divergences} divergences>")

    # --- diagnostics ---------------------------------------------------------------------------
    @property
    def divergences(self) -> int:
        """Divergent transitions after warmup."""
        return int(self.stats["divergent"].sum()) if "divergent" in self.stats else 0

    @property
    def step_size(self) -> np.ndarray:
        return np.exp(self.chain_state.adaptation["log_step_bar"])

    @property
    def inverse_mass(self) -> np.ndarray:
        return inverse_mass(self.chain_state.adaptation["scale"])

    @property
    def tree_depth(self) -> np.ndarray:
        """NUTS tree depth per draw (from the leapfrog steps taken)."""
        return np.ceil(np.log2(self.stats["n_steps"] + 1.0))

    def summary(self, names: list[str] | None = None) -> pd.DataFrame:
        """A table with one row per scalar (``theta[0]``, or ``alpha[AITKIN]`` with labels):
        mean, sd, q5, q50, q95, mcse_mean, ess_bulk, ess_tail, r_hat (rank-normalised,
        Vehtari et al. 2021). Elements equal in every draw (the unit diagonal of a
        correlation matrix) have no diagnostics and are left out."""
        names = self.targets if names is None else list(names)
        return summarise({n: self[n] for n in names}, self.dims, self.coords)

    def warn_if_unhealthy(self) -> None:
        """Warn when r_hat > 1.01, bulk ESS < 100 per chain... or there are divergences."""
        if self.n_draws < 4:
            return
        table = self.summary(list(self.values))
        problems = []
        if self.divergences:
            problems.append(f"{self.divergences} divergent transitions after warmup "
                            f"(try target_accept=0.9 or a non-centred parameterisation)")
        worst = table["r_hat"].max()
        if np.isfinite(worst) and worst > 1.01:
            rows = table.index[table["r_hat"] > 1.01][:5].tolist()
            problems.append(f"r_hat up to {worst:.3f} > 1.01 for {rows}: chains disagree")
        low = table["ess_bulk"].min()
        if np.isfinite(low) and low < 100:
            rows = table.index[table["ess_bulk"] < 100][:5].tolist()
            problems.append(f"bulk ESS as low as {low:.0f} for {rows}: draw more samples")
        if problems:
            warnings.warn("MCMC diagnostics: " + "; ".join(problems), stacklevel=user_stacklevel())

    # --- export --------------------------------------------------------------------------------
    def to_dataframe(self, names: list[str] | None = None) -> pd.DataFrame:
        """One row per draw: columns chain, draw, then one per scalar."""
        names = self.targets if names is None else list(names)
        chains, n = self.n_chains, self.n_draws
        columns: dict[str, np.ndarray] = {
            "chain": np.repeat(np.arange(chains), n), "draw": np.tile(np.arange(n), chains)}
        for name in names:
            shape = self[name].shape[2:]
            flat = self[name].reshape(chains * n, int(np.prod(shape, dtype=np.int64)))
            for j, label in enumerate(element_labels(name, shape, self.dims, self.coords)):
                columns[label] = flat[:, j]
        return pd.DataFrame(columns)

    def to_arviz(self, log_likelihood: bool = True, observed_data: bool = True,
                 posterior_predictive: bool = False, prior: bool = False,
                 prior_predictive: bool = False, seed: int | None = None) -> Any:
        """An ArviZ InferenceData with the posterior (labelled by ``coords`` and ``dims``)
        and sample_stats; when the model is at hand, the pointwise log-likelihood of each
        observed data array (named after it, for ``az.loo``) and, on request, the
        ``observed_data``, ``posterior_predictive``, ``prior`` and ``prior_predictive``
        groups (the prior ones draw as many draws as one chain has, from ``seed``).

        Examples
        --------
        >>> import numpy as np, tfstats as ts
        >>> mu = ts.normal(0, 10)
        >>> y = np.array([0.5, 1.5, 1.0])
        >>> _ = ts.normal(mu, 1, observed=y)
        >>> m = ts.model(mu)
        >>> draws = ts.Draws({"mu": np.random.default_rng(1).normal(1, 0.5, (2, 100))}, {},
        ...                  model=m)  # draws as ts.mcmc(m) makes them
        >>> idata = draws.to_arviz(posterior_predictive=True)
        >>> list(idata.log_likelihood.data_vars), idata.posterior_predictive["y"].shape
        (['y'], (2, 100, 3))
        """
        return to_inference_data(self, log_likelihood=log_likelihood,
                                 observed_data=observed_data,
                                 posterior_predictive=posterior_predictive, prior=prior,
                                 prior_predictive=prior_predictive, seed=seed)

    def save(self, path: str) -> None:
        """Save the draws, sampler statistics, labels, the sampler and the chains' state
        to a ``.npz`` file, with a fingerprint of the model (the model itself is not
        saved: pickle it, or give it to :meth:`load` to use ``calculate`` and
        ``extra_samples`` on the loaded draws). As numpy does, ``.npz`` is added to a
        ``path`` without it; :meth:`load` finds the file by either name."""
        arrays = {f"value:{k}": v for k, v in self.values.items()}
        arrays.update({f"stat:{k}": v for k, v in self.stats.items()})
        state, extra = saved_state(self)
        meta = {"targets": self.targets, "thin": self.thin, "interrupted": self.interrupted,
                "coords": {k: [_plain(v) for v in c] for k, c in self.coords.items()},
                "dims": self.dims, **extra}
        np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays, **state)

    @classmethod
    def load(cls, path: str, model: Any = None) -> Draws:
        """Load draws saved by :meth:`save`. With ``model`` (checked to be the model the
        draws came from: same unknowns, densities, targets and data), ``calculate`` and
        ``extra_samples`` work on them; without, summaries and export do.

        Examples
        --------
        >>> import numpy as np, tempfile, os, tfstats as ts
        >>> mu = ts.normal(0, 10)
        >>> y = ts.normal(mu, 1, observed=np.array([0.5, 1.5, 1.0]))
        >>> m = ts.model(mu)
        >>> draws = ts.Draws({"mu": np.random.default_rng(1).normal(1, 0.5, (2, 100))}, {},
        ...                  model=m)  # draws as ts.mcmc(m) makes them
        >>> path = os.path.join(tempfile.mkdtemp(), "draws.npz")
        >>> draws.save(path)
        >>> again = ts.Draws.load(path, model=m)
        >>> ts.calculate(mu * 2, values=again).shape
        (2, 100)
        """
        if not os.path.exists(path) and os.path.exists(f"{path}.npz"):
            path = f"{path}.npz"  # save(path) wrote path + ".npz", as numpy does
        with np.load(path, allow_pickle=False) as content:
            meta = json.loads(str(content["__meta__"]))
            values = {k[6:]: content[k] for k in content.files if k.startswith("value:")}
            stats = {k[5:]: content[k] for k in content.files if k.startswith("stat:")}
            attached = reattached(content, meta, values, model)
        return cls(values, stats, thin=meta["thin"], interrupted=meta["interrupted"],
                   targets=meta["targets"], coords=meta.get("coords"), dims=meta.get("dims"),
                   **attached)


def _plain(label: Any) -> Any:
    """A label as JSON keeps it (numpy scalars become Python ones, others strings)."""
    label = label.item() if isinstance(label, np.generic) else label
    return label if isinstance(label, int | float | str | bool) else str(label)
