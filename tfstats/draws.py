"""Draws: named posterior draws with summaries, diagnostics, ArviZ export, save / load."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

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


def _scalar_names(name: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [name]
    return [f"{name}[{','.join(str(i) for i in idx)}]" for idx in np.ndindex(*shape)]


def summarise(values: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per scalar of each (chains, draws, *shape) array: mean, sd, q5, q50, q95,
    mcse_mean, ess_bulk, ess_tail, r_hat."""
    frames = []
    for name, array in values.items():
        chains, n = array.shape[:2]
        size = int(np.prod(array.shape[2:], dtype=np.int64))
        flat = array.reshape(chains, n, size)  # explicit size: n may be 0 (interrupted)
        pooled = flat.reshape(chains * n, size)
        diag = _diagnostics(flat)
        nan = np.full(size, np.nan)
        sd = pooled.std(axis=0, ddof=1) if chains * n > 1 else nan
        if chains * n:
            mean = pooled.mean(axis=0)
            q5, q50, q95 = np.quantile(pooled, [0.05, 0.5, 0.95], axis=0)
        else:
            mean = q5 = q50 = q95 = nan
        frames.append(pd.DataFrame({
            "mean": mean, "sd": sd, "q5": q5, "q50": q50, "q95": q95,
            "mcse_mean": sd / np.sqrt(diag["ess_bulk"]), **diag,
        }, index=_scalar_names(name, array.shape[2:])))
    return pd.concat(frames) if frames else pd.DataFrame()


class Draws:
    """Posterior draws by name, each an array of shape ``(chains, draws, *shape)``.

    Attributes
    ----------
    stats : dict of str -> numpy.ndarray
        Sampler statistics per draw, shape (chains, draws): accept, divergent, n_steps
        (leapfrog steps), energy, step_size, log_density.
    step_size, inverse_mass : numpy.ndarray
        The tuned step size (chains,) and diagonal inverse mass matrix (chains, n_free).

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
                 targets: list[str] | None = None) -> None:
        self.values = values
        self.stats = stats
        self.model = model
        self.sampler = sampler
        self.chain_state = chain_state
        self.thin = thin
        self.interrupted = interrupted
        self.targets = list(targets) if targets is not None else list(values)

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
                     self.targets)

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
        return self.chain_state.adaptation["scale"] ** 2

    @property
    def tree_depth(self) -> np.ndarray:
        """NUTS tree depth per draw (from the leapfrog steps taken)."""
        return np.ceil(np.log2(self.stats["n_steps"] + 1.0))

    def summary(self, names: list[str] | None = None) -> pd.DataFrame:
        """A table with one row per scalar (``theta[0]``, ...): mean, sd, q5, q50, q95,
        mcse_mean, ess_bulk, ess_tail, r_hat (rank-normalised, Vehtari et al. 2021)."""
        names = self.targets if names is None else list(names)
        return summarise({n: self[n] for n in names})

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
            warnings.warn("MCMC diagnostics: " + "; ".join(problems), stacklevel=3)

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
            for j, label in enumerate(_scalar_names(name, shape)):
                columns[label] = flat[:, j]
        return pd.DataFrame(columns)

    def to_arviz(self, log_likelihood: bool = True) -> Any:
        """An ArviZ InferenceData with posterior, sample_stats and, when the model is at
        hand, pointwise log_likelihood and observed_data (for ``az.loo``)."""
        import arviz as az

        groups: dict[str, Any] = {"posterior": dict(self.values)}
        if "divergent" in self.stats:  # MCMC draws (VI draws have no sampler statistics)
            groups["sample_stats"] = {
                "diverging": self.stats["divergent"].astype(bool),
                "acceptance_rate": self.stats["accept"],
                "n_steps": self.stats["n_steps"], "energy": self.stats["energy"],
                "step_size": self.stats["step_size"], "lp": self.stats["log_density"],
                "tree_depth": self.tree_depth}
        if log_likelihood and self.model is not None:
            from tfstats.inference.predictive import pointwise_log_likelihood

            loglik, observed = pointwise_log_likelihood(self)
            if loglik:
                groups["log_likelihood"] = loglik
                groups["observed_data"] = observed
        return az.from_dict(**groups)

    def save(self, path: str) -> None:
        """Save the draws and sampler statistics to a ``.npz`` file (the model is not
        saved: a loaded Draws supports summaries and export, not ``calculate``)."""
        arrays = {f"value:{k}": v for k, v in self.values.items()}
        arrays.update({f"stat:{k}": v for k, v in self.stats.items()})
        meta = {"targets": self.targets, "thin": self.thin, "interrupted": self.interrupted}
        np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: str) -> Draws:
        """Load draws saved by :meth:`save`."""
        with np.load(path, allow_pickle=False) as content:
            meta = json.loads(str(content["__meta__"]))
            values = {k[6:]: content[k] for k in content.files if k.startswith("value:")}
            stats = {k[5:]: content[k] for k in content.files if k.startswith("stat:")}
        return cls(values, stats, thin=meta["thin"], interrupted=meta["interrupted"],
                   targets=meta["targets"])
