"""GLM likelihoods summed with their gradient in one pass over row blocks (JAX: inside each
chain's density; TensorFlow: one sweep for all chains, ``inference/batched_density.py``):
the same log density and gradient as the plain form (batched over chains and one chain,
float64, float32 and mixed data), the same fits, one compilation per signature, and the
terms the rewrite must leave alone. The thresholds are lowered here so that small data
take the blocked path in many blocks."""

from __future__ import annotations

import numpy as np
import pytest

import tfstats as ts
from tests.tfstats.rewrites import value_and_gradient
from tfstats import blocked_glm
from tfstats.blocked_glm import ENVIRONMENT
from tfstats.inference.batched_density import batched_value_and_gradient

DEFAULT_MIN_BYTES = dict(blocked_glm.MIN_BYTES)
N_ROWS, N_COLS = 4099, 4  # 16 blocks of 256 rows and 3 rows left; X large enough for float32
# relative: float64 sums in another order; float32 products summed over other blocks
TOLERANCE = {"double": (1e-12, 1e-10), "mixed": (1e-7, 1e-5), "single": (2e-6, 3e-5)}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", {"tensorflow": 0, "jax": 0})
    monkeypatch.setattr(blocked_glm, "BLOCK_BYTES", 4096)  # 256 rows of 4 float32 columns


def _glm(family: str, precision: str, blocked: bool, monkeypatch: pytest.MonkeyPatch,
         seed: int = 5) -> ts.Model:
    """Intercept, a matrix product, a data vector times a (1,) coefficient (subtracted), a
    data offset."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, N_COLS))
    x, offset = rng.normal(size=N_ROWS), 0.1 * rng.normal(size=N_ROWS)
    truth = 0.3 + X @ np.array([0.5, -0.3, 0.2, 0.0]) + offset
    monkeypatch.setenv(ENVIRONMENT, "1" if blocked else "0")
    alpha, beta, gamma = ts.normal(0, 2), ts.normal(0, 1, dim=N_COLS), ts.normal(0, 1, dim=1)
    eta = alpha + X @ beta - x * gamma + offset
    if family == "bernoulli":
        y = (rng.uniform(size=N_ROWS) < 1 / (1 + np.exp(-truth))).astype(float)
        ts.bernoulli(ts.ilogit(eta), observed=y)
    elif family == "poisson":
        ts.poisson(np.exp(eta), observed=rng.poisson(np.exp(truth)))
    else:  # "binomial": a size per row; "binomial_one_size": one for all rows
        size = 5 if family == "binomial_one_size" else rng.integers(1, 6, size=N_ROWS)
        ts.binomial(size, ts.ilogit(eta), observed=rng.binomial(size, 1 / (1 + np.exp(-truth))))
    model = ts.model(alpha=alpha, beta=beta, gamma=gamma, precision=precision)
    assert len(model.blocked_glm) == (1 if blocked else 0)
    return model


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _batched_match(family: str, precision: str,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[ts.Model, ts.Model, np.ndarray]:
    """The plain and blocked models, their batched values and gradients checked equal
    (vectorised chains, and one chain); returns both models and the points."""
    plain = _glm(family, precision, False, monkeypatch)
    blocked = _glm(family, precision, True, monkeypatch)
    value_tol, gradient_tol = TOLERANCE[precision]
    flats = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, plain.n_free))
    for chains in (flats, flats[:1]):  # vectorised chains, and one chain
        v0, g0 = value_and_gradient(plain, chains)
        v1, g1 = value_and_gradient(blocked, chains)
        assert _relative(v1, v0) < value_tol
        assert _relative(g1, g0) < gradient_tol
    return plain, blocked, flats


@pytest.mark.parametrize(("family", "precision"), [
    ("bernoulli", "double"), ("bernoulli", "mixed"), ("bernoulli", "single"),
    ("poisson", "mixed"), ("poisson", "double"), ("binomial", "mixed")])
def test_value_and_gradient_match_the_plain_form(jax_backend: str, family: str,
                                                 precision: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    plain, blocked, flats = _batched_match(family, precision, monkeypatch)
    value_tol, gradient_tol = TOLERANCE[precision]
    B = blocked.backend  # unbatched and through log_prob too
    flat = B.convert(flats[2], blocked.float_dtype)
    v0, g0 = B.value_and_gradient(lambda f: plain.log_density(f, plain.data_tensors()), flat)
    v1, g1 = B.value_and_gradient(lambda f: blocked.log_density(f, blocked.data_tensors()),
                                  flat)
    assert _relative(np.asarray(v1), np.asarray(v0)) < value_tol
    assert _relative(np.asarray(g1), np.asarray(g0)) < gradient_tol
    values = {"alpha": 0.2, "beta": [0.1, 0.2, -0.1, 0.0], "gamma": 0.3}
    assert blocked.log_prob(values) == pytest.approx(plain.log_prob(values), rel=value_tol)


def _lgammas(jaxpr: object, in_loop: bool = False) -> list[bool]:
    """For each ``lgamma`` of ``jaxpr`` (and the jaxprs inside it): whether it is in a loop."""
    from jax.extend import core as jax_core

    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "lgamma":
            found.append(in_loop)
        loop = in_loop or eqn.primitive.name in ("while", "scan")
        for param in eqn.params.values():
            for sub in param if isinstance(param, list | tuple) else (param,):
                if isinstance(sub, jax_core.ClosedJaxpr):
                    found += _lgammas(sub.jaxpr, loop)
                elif isinstance(sub, jax_core.Jaxpr):
                    found += _lgammas(sub, loop)
    return found


def test_jax_sums_the_data_only_terms_outside_the_blocks(
        jax_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Poisson's ``lgamma(y + 1)`` once over all rows, not per block in the loop."""
    import jax

    model = _glm("poisson", "double", True, monkeypatch)
    flat = np.zeros(model.n_free)
    jaxpr = jax.make_jaxpr(jax.grad(lambda f: model.log_density(f, model.data_tensors())))(flat)
    assert _lgammas(jaxpr.jaxpr) == [False]


TRANSCENDENTAL = {"exp", "log", "log1p", "lgamma", "logistic", "tanh", "pow", "Exp", "Log",
                  "Log1p", "Lgamma", "Sigmoid", "Tanh", "Softplus", "Pow"}


def _loop_bodies(jaxpr: object) -> list[list[str]]:
    """The transcendental primitives of each loop body of ``jaxpr`` (nested jaxprs too)."""
    from jax.extend import core as jax_core

    def inner(sub: object) -> object:
        return sub.jaxpr if isinstance(sub, jax_core.ClosedJaxpr) else sub

    def walk(j: object, found: list[str], bodies: list[list[str]]) -> None:
        for eqn in j.eqns:
            if eqn.primitive.name in TRANSCENDENTAL:
                found.append(eqn.primitive.name)
            loop = eqn.primitive.name in ("while", "scan")
            for param in eqn.params.values():
                for sub in param if isinstance(param, list | tuple) else (param,):
                    if isinstance(sub, jax_core.ClosedJaxpr | jax_core.Jaxpr):
                        if loop:
                            bodies.append([])
                            walk(inner(sub), bodies[-1], bodies)
                        else:
                            walk(inner(sub), found, bodies)

    bodies: list[list[str]] = []
    walk(jaxpr, [], bodies)
    return [body for body in bodies if body]


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_poisson_blocks_take_one_exp_a_row(backend: str, monkeypatch: pytest.MonkeyPatch,
                                           request: pytest.FixtureRequest) -> None:
    """In the loop over row blocks the Poisson's value and gradient ``y * eta - exp(eta)``
    and ``y - exp(eta)`` take one ``exp`` a block and nothing else transcendental: no
    ``log`` of the rate, no ``lgamma`` (summed once outside), no second ``exp`` for the
    gradient."""
    request.getfixturevalue(f"{backend}_backend")
    model = _glm("poisson", "mixed", True, monkeypatch)
    if backend == "jax":
        import jax

        flat = np.zeros(model.n_free)
        jaxpr = jax.make_jaxpr(jax.grad(
            lambda f: model.log_density(f, model.data_tensors())))(flat).jaxpr
        parts = model.blocked_glm[0].row_parts
        assert _loop_bodies(jaxpr) == [["exp"] * parts]
        return
    import tensorflow as tf

    fn = batched_value_and_gradient(model)
    graph = fn.get_concrete_function(tf.constant(np.zeros((3, model.n_free))),
                                     *model.data_tensors()).graph
    (loop,) = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
    body = graph._get_function(loop.get_attr("body").name).graph
    assert [op.type for op in body.get_operations() if op.type in TRANSCENDENTAL] == ["Exp"]


@pytest.mark.parametrize(("family", "precision"), [
    ("bernoulli", "double"), ("bernoulli", "mixed"), ("bernoulli", "single"),
    ("poisson", "mixed"), ("binomial", "mixed"), ("binomial_one_size", "double")])
def test_tensorflow_sweep_matches_the_plain_form(tensorflow_backend: str, family: str,
                                                 precision: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The chains' sweep against the vectorised plain form."""
    _batched_match(family, precision, monkeypatch)


def test_tensorflow_sweeps_once_for_all_chains(tensorflow_backend: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The batched function is traced once per signature, and its graph holds one loop
    over the row blocks, outside the vectorised map; a single density (the optimisers')
    is the plain form, exactly."""
    import tensorflow as tf

    plain = _glm("poisson", "mixed", False, monkeypatch)
    blocked = _glm("poisson", "mixed", True, monkeypatch)
    fn = batched_value_and_gradient(blocked)
    flats = np.random.default_rng(2).uniform(-0.5, 0.5, size=(3, blocked.n_free))
    for rows in (flats, flats[::-1], flats + 0.1):
        fn(tf.constant(rows), *blocked.data_tensors())
    assert fn.experimental_get_tracing_count() == 1
    graph = fn.get_concrete_function(tf.constant(flats), *blocked.data_tensors()).graph
    loops = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
    assert len(loops) == 1  # the sweep; the chains are vectorised without a loop
    flat = tf.constant(flats[0])
    plain_value, blocked_value = (float(m.log_density(flat, m.data_tensors()))
                                  for m in (plain, blocked))
    assert blocked_value == plain_value  # unbatched: the plain form


def _agree(a_draws: ts.Draws, b_draws: ts.Draws) -> None:
    for name in ("alpha", "beta"):
        a, b = (np.asarray(d[name]).reshape(-1, *np.shape(d[name])[2:])
                for d in (a_draws, b_draws))
        # two runs of one posterior: means within 5 Monte Carlo standard errors (ESS 100)
        se = np.sqrt(a.var(axis=0) / 100 + b.var(axis=0) / 100)
        assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 5 * se)


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # 2 x 200 draws: short chains
def test_fits_agree_with_the_plain_form(jax_backend: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _glm("bernoulli", "double", False, monkeypatch)
    blocked = _glm("bernoulli", "double", True, monkeypatch)
    fits = [ts.opt(m, seed=1) for m in (plain, blocked)]
    for name in ("alpha", "beta", "gamma"):
        np.testing.assert_allclose(fits[1].par[name], fits[0].par[name], rtol=1e-5, atol=1e-6)
    _agree(*(ts.mcmc(m, n_samples=200, warmup=200, chains=2, seed=3, progress=False)
             for m in (plain, blocked)))


@pytest.mark.filterwarnings("ignore:MCMC diagnostics")  # 2 x 200 draws: short chains
def test_tensorflow_fits_agree_with_the_plain_form(tensorflow_backend: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectorised chains (one loop compiled, then reused) and parallel chains (one chain
    per loop), against the plain form; VI's ELBO gradient goes through the sweep too."""
    plain = _glm("bernoulli", "mixed", False, monkeypatch)
    blocked = _glm("bernoulli", "mixed", True, monkeypatch)
    kwargs = dict(n_samples=200, warmup=200, chains=2, progress=False)
    reference = ts.mcmc(plain, seed=3, chain_method="vectorized", **kwargs)
    for method in ("vectorized", "parallel"):
        _agree(reference, ts.mcmc(blocked, seed=3, chain_method=method, **kwargs))
    # again, shorter (the iterations are an argument of the loop): compiled once
    ts.mcmc(blocked, seed=4, chain_method="vectorized", **dict(kwargs, n_samples=20, warmup=30))
    loops = {k[-1][2]: r for k, r in blocked._cache.items() if k[-1][0] == "mcmc"}
    assert sorted(loops) == [1, 2]  # chains per loop: parallel, vectorised
    assert all(r.compilations == 1 for r in loops.values())
    fits = [ts.vi(m, steps=300, seed=1, progress=False) for m in (plain, blocked)]
    # one seed, gradients equal up to rounding: the same path of steps
    np.testing.assert_allclose(fits[1].loc, fits[0].loc, atol=0.02)


def test_threshold_is_the_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    # 60,000 x 20 read in float32 (the default mixed precision): 4.8 MB, past TensorFlow's
    # 4 MiB and short of JAX's 16 MiB
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", DEFAULT_MIN_BYTES)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60_000, 20))
    beta = ts.normal(0, 1, dim=20)
    ts.bernoulli(ts.ilogit(X @ beta), observed=(X[:, 0] > 0).astype(float))
    model = ts.model(beta)
    assert model.single_data
    assert bool(model.blocked_glm) == (ts.backend_name() == "tensorflow")


def test_terms_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), rng.integers(0, 2, size=300).astype(float)
    group = rng.integers(0, 5, size=300)
    beta, sigma = ts.normal(0, 1, dim=3), ts.normal(0, 1, truncation=(0, None))
    u = ts.normal(0, 1, dim=5)
    ts.bernoulli(ts.ilogit(X @ beta + u[group]), observed=y)  # a per-row unknown term
    ts.bernoulli(ts.ilogit(np.exp(X @ beta)), observed=y)  # not linear
    ts.normal(X @ beta, sigma, observed=y)  # Gaussian: sufficient statistics
    assert ts.model(beta, u, sigma).blocked_glm == []
    beta2 = ts.normal(0, 1, dim=3)
    ts.poisson(np.exp(X @ beta2), observed=y)
    assert len(ts.model(beta2).blocked_glm) == 1
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", DEFAULT_MIN_BYTES)  # data too small
    assert ts.model(beta2).blocked_glm == []
    monkeypatch.setattr(blocked_glm, "MIN_BYTES", {"tensorflow": 0, "jax": 0})
    monkeypatch.setenv(ENVIRONMENT, "0")
    assert ts.model(beta2).blocked_glm == []
