"""Every example runs with tiny settings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_runs_as_make_demo_runs_it() -> None:
    """What `make demo` runs, as a script in a new process (the venv is already installed
    by make test), with tiny settings."""
    code = ("import runpy, sys; sys.argv = ['quickstart.py'];"
            "m = runpy.run_path('examples/quickstart.py');"
            "draws = m['main'](n_samples=100, warmup=100, chains=2, progress=False);"
            "print('beta mean', float(draws['beta'].mean()))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "posterior mode" in out and "r_hat" in out
    # kidiq: kid_score ~ mom_iq slope is about 0.61 (posteriordb reference)
    assert abs(float(out.split("beta mean")[-1]) - 0.61) < 0.05


def test_variational_example_runs_with_tiny_settings(capsys: pytest.CaptureFixture) -> None:
    fits = _load("variational").main(n_rows=5000, batch_size=1000, steps=1000,
                                     progress=False)
    assert "CSV stream" in capsys.readouterr().out
    reference = fits["in memory"]
    for fit in fits.values():  # short stochastic runs: within a posterior sd
        error = (fit.mean["coef"] - reference.mean["coef"]) / reference.sd["coef"]
        assert np.all(np.abs(error) < 1.0), error


@pytest.fixture
def on_jax() -> Iterator[None]:
    """The examples with discrete unknowns run on JAX (TensorFlow compiles them slower;
    tests/tfstats/inference/test_enumeration.py samples one on TensorFlow)."""
    pytest.importorskip("jax")
    import tfstats as ts

    before = ts.backend_name()
    ts.set_backend("jax")
    yield
    ts.set_backend(before)


def test_change_point_example_runs_with_tiny_settings(capsys: pytest.CaptureFixture,
                                                      on_jax: None) -> None:
    out = _load("change_point").main(n_samples=100, warmup=100, chains=2, progress=False,
                                     n_years=50)
    assert "P(change year | data)" in capsys.readouterr().out
    # simulated: 3.0 events a year before year 18, 0.9 after
    assert out["s"].shape == (2, 100) and abs(np.median(out["s"]) - 18) <= 4
    assert out["early"].mean() > 2 * out["late"].mean()


def test_mixture_assignments_example_runs_with_tiny_settings(
        capsys: pytest.CaptureFixture, on_jax: None) -> None:
    out = _load("mixture_assignments").main(n_samples=100, warmup=100, chains=2,
                                            progress=False, n=40)
    assert "P(cluster 1)" in capsys.readouterr().out
    assert out["z"].shape == (2, 100, 40) and set(np.unique(out["z"])) <= {0, 1}
    centres = out["centre"].mean(axis=(0, 1))
    assert centres[0] < -1 and centres[1] > 1


def test_lkj_multivariate_runs_and_recovers_the_correlation(
        capsys: pytest.CaptureFixture) -> None:
    """examples/lkj_multivariate.py, tiny settings: each correlation's posterior covers the
    truth (within 4 posterior sd plus 4 MCSE; 200 rows). The HMM example runs in
    tests/tfstats/test_factor.py, where it checks the recovery of its parameters."""
    example = _load("lkj_multivariate")
    draws = example.main(n_samples=200, warmup=200, chains=2, progress=False)
    assert "true correlation" in capsys.readouterr().out
    table = draws.summary(["R"])
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        row = table.loc[f"R[{i}, {j}]"]
        assert abs(row["mean"] - example.TRUE_R[i, j]) < 4 * row["sd"] + 4 * row["mcse_mean"]


@pytest.mark.slow
def test_ode_lotka_volterra_posterior_covers_the_true_rates() -> None:
    """Each true rate inside its central 99% posterior interval (with four rates and one
    data set, 95% intervals would all cover only about 81% of the time)."""
    module = _load("ode_lotka_volterra")
    draws = module.main(n_samples=150, warmup=150, chains=2, progress=False)
    low, high = np.quantile(draws["rates"].reshape(-1, 4), [0.005, 0.995], axis=0)
    assert np.all((low < module.TRUE_RATES) & (module.TRUE_RATES < high)), (low, high)
    assert draws.divergences == 0


def test_radon_formula_runs_and_matches_the_reference(capsys: pytest.CaptureFixture) -> None:
    """The example with posteriordb's priors for this model (the same data, counties
    numbered from 0 instead of 1): its posterior means agree with the reference posterior
    within 5 combined Monte Carlo standard errors."""
    from tests.tfstats.posteriordb_models import (
        POSTERIORDB,
        load_reference,
        reference_mcse,
    )
    from tfstats.draws import summarise

    priors = {"Intercept": ("normal", 0, 10), "floor": ("normal", 0, 10),
              "1|county_sigma": ("half_normal", 1), "sigma": ("half_normal", 1)}
    model, draws = _load("radon_formula").main(n_samples=300, warmup=300, chains=2,
                                               progress=False, priors=priors)
    out = capsys.readouterr().out
    assert "1|county_sigma" in out and "a new county" in out
    assert model.formula.design.group[0].levels == [str(j) for j in range(85)]
    # the basement-to-floor effect is about -0.69 (Gelman & Hill)
    assert abs(draws["floor"].mean() + 0.69) < 0.15
    posterior = "radon_mn-radon_variable_intercept_noncentered"
    if not POSTERIORDB.is_dir():
        return
    alpha = draws["Intercept"][..., None] + draws["1|county"]
    table = summarise({"alpha": alpha, "beta": draws["floor"], "mu_alpha": draws["Intercept"],
                       "sigma_alpha": draws["1|county_sigma"], "sigma_y": draws["sigma"]})
    reference, mcse_ref = load_reference(posterior), reference_mcse(posterior)
    problems = []
    for name, ref in reference.items():
        row = table.loc[f"alpha[{int(name[6:-1]) - 1}]" if name.startswith("alpha[") else name]
        combined = np.hypot(row["mcse_mean"], mcse_ref.get(name, 0.0))
        if not abs(row["mean"] - ref["mean"]) < 5 * combined:
            problems.append(f"{name}: {row['mean']:.4f} vs {ref['mean']:.4f}")
    assert not problems, problems
    assert table["r_hat"].max() < 1.05
