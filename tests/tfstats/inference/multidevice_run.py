"""Run by ``test_devices.py`` in a subprocess with four forced CPU devices on the JAX
backend (the device count is fixed when JAX starts): fits a small logistic regression on
one device, with the chains spread over the devices, and with the rows of the data split
over them, and prints what it saw as one JSON line."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

import tfstats as ts
from tfstats.backends import jax_devices

__all__ = ["main"]

seen: dict[str, list] = {"chains": [], "put": []}


def _spy() -> None:
    """Record the devices holding each chunk's draws and the shards of placed data."""
    chain_parallel, put = jax_devices.DeviceMesh.chain_parallel, jax_devices.DeviceMesh.put

    def spy_chains(self: Any, chunk: Any) -> Any:
        run = chain_parallel(self, chunk)

        def recorded(*args: Any) -> Any:
            result = run(*args)
            seen["chains"].append([[s.device.id, list(s.data.shape)]
                                   for s in result[3]["x"].addressable_shards])
            return result

        return recorded

    def spy_put(self: Any, data: tuple, rows: int) -> tuple:
        placed = put(self, data, rows)
        seen["put"].append([[list(a.sharding.spec), [list(s.data.shape) for s in
                                                     a.addressable_shards]] for a in placed])
        return placed

    jax_devices.DeviceMesh.chain_parallel = spy_chains
    jax_devices.DeviceMesh.put = spy_put


def _model() -> ts.Model:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 3))
    logits = 0.3 + X @ np.array([1.0, -0.5, 0.0])
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-logits))).astype(float)
    alpha = ts.normal(0, 5)
    beta = ts.normal(0, 1, dim=3)
    ts.bernoulli(ts.ilogit(alpha + X @ beta), observed=y)
    return ts.model(alpha=alpha, beta=beta)


def _nuts(model: ts.Model, **options: Any) -> dict[str, Any]:
    draws = ts.mcmc(model, n_samples=250, warmup=250, chains=4, seed=3, progress=False,
                    **options)
    table = draws.summary()
    return {"mean": table["mean"].tolist(),
            "mcse": (table["sd"] / np.sqrt(table["ess_bulk"])).tolist()}


def _vi(model: ts.Model, **options: Any) -> list[float]:
    fit = ts.vi(model, steps=1000, learning_rate=0.05, seed=5, progress=False,
                tolerance=1e-9, init="random", **options)
    return [*fit.loc.tolist(), *np.diag(fit.scale_tril).tolist()]


def main() -> None:
    import jax

    _spy()
    model = _model()
    out: dict[str, Any] = {"device_count": jax.device_count()}
    try:
        ts.mcmc(model, devices=8, progress=False)
    except ValueError as error:
        out["too_many"] = str(error)
    out["nuts_one"] = _nuts(model, devices=1)
    out["nuts_chains"] = _nuts(model)  # devices=None: every device, chains split
    out["chains_shards"] = seen["chains"]
    before = len(seen["put"])
    out["nuts_data"] = _nuts(model, shard="data")
    out["data_put"] = seen["put"][before:]
    out["vi_one"] = _vi(model, devices=1)
    before = len(seen["put"])
    out["vi_data"] = _vi(model, shard="data")
    out["vi_put"] = seen["put"][before:]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
