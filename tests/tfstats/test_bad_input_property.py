"""Bad input, tried at scale: hypothesis writes random small models (random families,
shapes, bounds, truncations, parameter and data values, some of them invalid) and checks
that every failure is a tfstats error naming the culprit, raised where the model is
written (never a raw TensorFlow / JAX / numpy error), and that every accepted model has a
finite log density at a valid point. Seeded (derandomize) and bounded: see MAX_EXAMPLES."""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfstats as ts

MAX_EXAMPLES = 200
TRIED: dict[str, int] = {"accepted": 0, "rejected": 0}

# family: (parameter kinds, support of its values)
PRIORS: dict[str, tuple[tuple[str, ...], str]] = {
    "normal": (("real", "positive"), "real"),
    "student": (("positive", "real", "positive"), "real"),
    "cauchy": (("real", "positive"), "real"),
    "laplace": (("real", "positive"), "real"),
    "logistic": (("real", "positive"), "real"),
    "lognormal": (("real", "positive"), "positive"),
    "exponential": (("positive",), "positive"),
    "gamma": (("positive", "positive"), "positive"),
    "inverse_gamma": (("positive", "positive"), "positive"),
    "weibull": (("positive", "positive"), "positive"),
    "beta": (("positive", "positive"), "unit"),
}
LIKELIHOODS = ("normal", "student", "cauchy", "laplace", "logistic")
WEIRD = [None, "a", np.array([]), 1 + 2j, [1.0, "b"], np.array(["x"]), {"a": 1}]
BAD = {"positive": [0.0, -1.0, math.nan, math.inf], "real": [math.nan, math.inf]}


@dataclass
class Spec:
    """A model to write, and the words an error about each invalid part must contain."""

    family: str
    params: list[Any]
    dim: Any
    truncation: Any
    bounds: tuple[Any, Any]
    observed: np.ndarray
    extra: tuple[str, tuple] = ("none", ())
    culprits: list[tuple[str, ...]] = field(default_factory=list)


def _value(draw: Any, kind: str, shape: tuple[int, ...]) -> Any:
    low, high = (0.5, 3.0) if kind == "positive" else (-2.0, 2.0)
    if not shape:
        return draw(st.floats(low, high))
    return np.asarray(draw(st.lists(st.floats(low, high), min_size=math.prod(shape),
                                    max_size=math.prod(shape)))).reshape(shape)


def _fits(params: list[Any], shape: tuple[int, ...]) -> bool:
    """Whether the parameters broadcast to ``shape`` (dim is not stretched to fit them)."""
    try:
        return np.broadcast_shapes(shape, *(np.shape(p) for p in params)) == shape
    except ValueError:
        return False


@st.composite
def specs(draw: Any) -> Spec:
    family = draw(st.sampled_from(sorted(PRIORS)))
    kinds, support = PRIORS[family]
    shape = draw(st.sampled_from([(), (), (3,), (2, 3)]))
    culprits: list[tuple[str, ...]] = []
    params = [_value(draw, kind, draw(st.sampled_from([(), shape]))) for kind in kinds]
    if draw(st.integers(0, 5)) == 0:  # one parameter outside its support
        k = draw(st.integers(0, len(kinds) - 1))
        params[k] = draw(st.sampled_from(BAD[kinds[k]]))
        culprits.append((family,))
    elif draw(st.integers(0, 9)) == 0:  # or not a number at all
        k = draw(st.integers(0, len(kinds) - 1))
        params[k] = draw(st.sampled_from(WEIRD))
        culprits.append((family, "data", "dtype", "numeric", "complex"))
    dim = draw(st.sampled_from([None, shape or None, 3, (2, 3)]))
    if draw(st.integers(0, 7)) == 0:
        dim = draw(st.sampled_from([0, -1, 1.5, "x", (2, 0)]))
    if dim in (0, -1, 1.5, "x", (2, 0)):
        culprits.append(("dim",))
    elif dim is not None and not _fits(params, dim if isinstance(dim, tuple) else (dim,)):
        culprits.append((family, "dim"))
    truncation = None
    if support == "real" and draw(st.booleans()):
        truncation = draw(st.sampled_from([(0, None), (-1.0, 1.0), (None, 0.5)]))
        if draw(st.integers(0, 4)) == 0:
            truncation = draw(st.sampled_from([(1.0, -1.0), "x", (math.nan, 1.0)]))
        if truncation in ((1.0, -1.0), "x") or isinstance(truncation, tuple) and any(
                isinstance(b, float) and math.isnan(b) for b in truncation):
            culprits.append(("truncation",))
    bounds = draw(st.sampled_from([(0.0, None), (-1.0, 1.0)]))
    if draw(st.integers(0, 7)) == 0:
        bounds = draw(st.sampled_from([(1.0, -1.0), (math.nan, None), (np.zeros(2), np.ones(3))]))
    if bounds[1] is not None and np.ndim(bounds[0]) == 0 and not bounds[0] < bounds[1] or (
            bounds[1] is None and math.isnan(bounds[0])) or np.ndim(bounds[0]):
        culprits.append(("lower", "bound", "variable"))
    n = draw(st.integers(1, 4))
    observed = np.asarray(draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n)))
    if draw(st.integers(0, 7)) == 0:
        observed[draw(st.integers(0, n - 1))] = draw(st.sampled_from([math.nan, math.inf]))
        culprits.append(("observed",))
    extra = draw(extras(culprits))
    return Spec(family, params, dim, truncation, bounds, observed, extra, culprits)


@st.composite
def extras(draw: Any, culprits: list[tuple[str, ...]]) -> tuple[str, tuple]:
    """One more construct, multivariate or indexed, sometimes with invalid arguments."""
    kind = draw(st.sampled_from(["none", "dirichlet", "lkj", "mvn", "index", "mixture",
                                 "discrete"]))
    bad = draw(st.integers(0, 3)) == 0
    k = draw(st.integers(2, 4))
    if kind == "dirichlet":
        alpha = np.full(k, -1.0 if bad else 1.5)
        args: tuple = (alpha,)
    elif kind == "lkj":
        args = (draw(st.sampled_from([0.0, -1.0])) if bad else 2.0,
                draw(st.sampled_from([1, 2.5])) if bad else k)
    elif kind == "mvn":
        sigma = np.eye(k)
        if bad:
            sigma = draw(st.sampled_from([-np.eye(k), np.eye(k + 1), np.ones((k, k))]))
        args = (np.zeros(k), sigma)
    elif kind == "index":
        index = np.arange(k)
        if bad:
            index = draw(st.sampled_from([index + 10, index * 0.5, -index - 10]))
        args = (index,)
    elif kind == "mixture":
        weights = np.array([0.3, 0.7])
        if bad:
            weights = draw(st.sampled_from([np.array([0.3, 0.3]), np.array([0.2, 0.3, 0.5]),
                                            np.array([-0.5, 1.5])]))
        args = (weights,)
    elif kind == "discrete":
        args = ()
        bad = True  # a discrete unknown used as a parameter is refused
    else:
        args, bad = (), False
    if bad:
        culprits.append({"dirichlet": ("dirichlet",), "lkj": ("lkj_correlation",),
                         "mvn": ("multivariate_normal", "Sigma"),
                         "index": ("index",), "mixture": ("mixture", "weights"),
                         "discrete": ("poisson", "discrete")}[kind])
    return kind, args


def _point(spec: Spec, unknown: ts.Array) -> np.ndarray:
    """A value inside the support of the prior's unknown (after truncation)."""
    support = PRIORS[spec.family][1]
    middle = {"real": 0.25, "positive": 1.25, "unit": 0.5}[support]
    if spec.truncation == (-1.0, 1.0):
        middle = 0.25
    elif spec.truncation == (0, None):
        middle = 0.75
    elif spec.truncation == (None, 0.5):
        middle = -0.25
    return np.full(unknown.shape, middle)


def _write(spec: Spec) -> tuple[ts.Model, dict[str, np.ndarray]]:
    prior = getattr(ts, spec.family)(*spec.params, dim=spec.dim, truncation=spec.truncation)
    flat = ts.variable(lower=spec.bounds[0], upper=spec.bounds[1])
    location = ts.normal(0, 1) + np.sum(prior) * 0.1
    likelihood = getattr(ts, LIKELIHOODS[spec.observed.size % len(LIKELIHOODS)])
    scale = ts.exponential(1.0) + 0.5
    args = (3.0, location, scale) if likelihood is ts.student else (location, scale)
    likelihood(*args, observed=spec.observed)
    ts.normal(0, 1, observed=flat)  # a proper density for the flat unknown
    targets = {"prior": prior, "flat": flat, **_extra(spec, location)}
    m = ts.model(**targets)
    inside = 0.5 if spec.bounds == (-1.0, 1.0) else 1.0
    values = {name: np.zeros(a.shape) for name, a in m.output_arrays().items()
              if name in m.variable_names}
    values["prior"] = _point(spec, prior)
    values["flat"] = np.full(flat.shape, inside)
    if "extra" in m.variable_names:
        values["extra"] = _extra_point(spec, m.output_arrays()["extra"].shape)
    names = {n for n in m.variable_names if n not in ("prior", "flat", "extra")}
    for name in names:
        values[name] = np.full(m.output_arrays()[name].shape, 1.0)
    return m, values


def _extra(spec: Spec, location: ts.Array) -> dict[str, ts.Array]:
    kind, args = spec.extra
    if kind == "dirichlet":
        return {"extra": ts.dirichlet(*args)}
    if kind == "lkj":
        return {"extra": ts.lkj_correlation(*args)}
    if kind == "mvn":
        return {"extra": ts.multivariate_normal(*args)}
    if kind == "index":
        extra = ts.normal(0, 1, dim=4)
        ts.normal(extra[args[0]], 1, observed=np.zeros(len(args[0])))
        return {"extra": extra}
    if kind == "mixture":
        ts.mixture(ts.normal(location, 1), ts.normal(0, 2), weights=args[0],
                   observed=spec.observed)
        return {}
    if kind == "discrete":
        count = ts.poisson(2.0)
        ts.normal(count, 1, observed=spec.observed)
        return {}
    return {}


def _extra_point(spec: Spec, shape: tuple[int, ...]) -> np.ndarray:
    kind = spec.extra[0]
    if kind == "dirichlet":
        return np.full(shape, 1.0 / shape[-1])
    if kind == "lkj":
        return np.eye(shape[-1])
    return np.zeros(shape)


def _raised_in_tfstats(error: BaseException) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "/tfstats/" in frames[-1].filename


@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs())
def test_random_models_fail_clearly_or_have_a_finite_density(spec: Spec) -> None:
    try:
        m, values = _write(spec)
    except (ts.ModelError, ts.ShapeError, TypeError, ValueError, IndexError) as error:
        TRIED["rejected"] += 1
        message = str(error)
        assert _raised_in_tfstats(error), f"raised outside tfstats: {error!r}"
        assert type(error).__module__.split(".")[0] in ("tfstats", "builtins")
        assert spec.culprits, f"a valid model was refused: {error!r} ({spec})"
        assert any(any(word in message for word in words) for words in spec.culprits), (
            f"{message!r} names none of {spec.culprits}")
        return
    TRIED["accepted"] += 1
    assert not spec.culprits, f"invalid input accepted: {spec.culprits} ({spec})"
    value = m.log_prob(values)
    assert np.isfinite(value), f"log_prob {value} at a valid point of {spec}"
    # the density samplers use: on the unconstrained scale, with its gradient
    B = m.backend
    flat = B.convert(m.unconstrain(values), m.float_dtype)
    data = m.data_tensors()
    lp, grad = B.to_numpy(B.value_and_gradient(lambda z: m.log_density(z, data), flat))
    assert np.isfinite(lp) and np.all(np.isfinite(grad)), f"{lp}, {grad} for {spec}"


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Any:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"hypothesis models: {TRIED['accepted']} accepted, "
                            f"{TRIED['rejected']} rejected with a clear error")
