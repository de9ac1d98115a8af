"""A small labelled varying-intercept model and its NUTS draws, fitted once per session and
shared by the tests of labels, persistence and quiet output."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd

import tfstats as ts

COUNTIES = ["AITKIN", "ANOKA", "BECKER"]
ROOT = Path(__file__).resolve().parents[2]

# a fresh process: loads the pickled fit, uses it, and fits a little more (its stderr must
# stay empty: see test_quiet)
FRESH = """
import json, pickle, sys
import numpy as np
import tfstats as ts
with open(sys.argv[1], "rb") as f:
    saved = pickle.load(f)
m, draws, fit = saved["model"], saved["draws"], saved["fit"]
y_rep = ts.calculate(m.observed["radon"], values=draws, seed=1)
mean = ts.calculate(m.targets["mean"], values=fit)
more = ts.extra_samples(draws, 10, progress=False)
idata = draws.to_arviz(posterior_predictive=True, seed=1)
for k in range(6):  # a new compiled function per call: TensorFlow's retracing notice
    ts.calculate(m.targets["alpha"] * k, values={m.targets["alpha"]: [1.0, 2.0, 3.0]})
print(json.dumps({
    "summary": draws.summary().round(10).to_dict(),
    "y_rep": list(y_rep.shape), "y_rep_mean": float(y_rep.mean()),
    "mean": mean.tolist(), "more": list(more["alpha"].shape),
    "groups": sorted(idata.groups()), "log_prob": m.log_prob({"alpha": [0.1, 0.2, 0.3],
                                                             "sigma": 1.5}),
    "fit_par": float(fit.par["sigma"]),
}))
"""


@functools.cache
def radon_fit() -> dict[str, Any]:
    rng = np.random.default_rng(3)
    county = pd.Series(pd.Categorical(rng.choice(COUNTIES, 30), categories=COUNTIES),
                       name="county")
    radon = rng.normal(size=30) + county.cat.codes.to_numpy()
    alpha = ts.normal(0, 5, dim=3)
    sigma = ts.exponential(1)
    mean = alpha[county]
    ts.normal(mean, sigma, observed=radon)
    model = ts.model(alpha, sigma, mean=mean)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = ts.mcmc(model, n_samples=60, warmup=60, chains=2, seed=1, progress=False)
    return {"model": model, "draws": draws, "warnings": [str(w.message) for w in caught],
            "radon": radon}


@functools.cache
def opt_fit() -> dict[str, Any]:
    fit = radon_fit()
    return {**fit, "fit": ts.opt(fit["model"], seed=1)}


@functools.cache
def fresh_process() -> dict[str, Any]:
    """One fresh process loads the cloudpickled model, draws and optimum (cloudpickle
    writes standard pickles: the process reads them with plain pickle)."""
    fitted = opt_fit()
    path = Path(tempfile.mkdtemp()) / "fit.pkl"
    path.write_bytes(cloudpickle.dumps({k: fitted[k] for k in ("model", "draws", "fit")}))
    env = {k: v for k, v in os.environ.items() if k != "TFSTATS_VERBOSE"}
    # a cache without ArviZ's stamp of today, so that its once-a-day notice would show
    # (matplotlib keeps its font cache where it was)
    import matplotlib

    env |= {"PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": tempfile.mkdtemp(),
            "MPLCONFIGDIR": matplotlib.get_cachedir()}
    done = subprocess.run([sys.executable, "-c", FRESH, str(path)], capture_output=True,
                          text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"out": json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr}
