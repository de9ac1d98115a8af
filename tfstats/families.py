"""The distribution families: TFP constructors with greta's parameterisations, fast log
densities for common likelihoods, parameter and support checks, and ``Density`` (one
likelihood or prior term of a model). ``distributions`` builds on this table."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tfstats.arrays import Array

__all__ = ["Family", "Density", "FAMILIES", "family_named"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Family:
    """A distribution family: how TFP builds it, its support, and its checks."""

    name: str
    make: Callable[..., Any]  # (B, *params) -> TFP distribution
    support: str = "real"  # real | positive | unit | bounded | simplex | correlation | ...
    discrete: bool = False
    event_ndims: int = 0
    checks: tuple[str, ...] = ()  # one per parameter: positive, probability, count, ...
    log_prob: Callable[..., Any] | None = None  # fast path: (B, x, *params) -> log density
    observed_check: str | None = None

    def __post_init__(self) -> None:
        _BY_NAME[self.name] = self

    def __reduce__(self) -> tuple:
        """Pickled by name (its functions are lambdas): models and draws pickle."""
        return family_named, (self.name,)


_BY_NAME: dict[str, Family] = {}


def family_named(name: str) -> Family:
    """The family called ``name`` (every family made registers itself). Unpickling finds
    this function by importing ``tfstats.families``, which imports the ``tfstats``
    package first, and so every module that makes a family."""
    return _BY_NAME[name]


@dataclass(eq=False)
class Density:
    """A density term: ``value ~ family(*params)``, optionally truncated."""

    family: Family
    params: tuple[Array, ...]
    value: Array | None  # set once the term is placed (mixture / joint fill it in later)
    truncation: tuple[Array | None, Array | None] | None = None
    components: tuple[Density, ...] = field(default=())  # mixture / joint parts

    def arrays(self) -> list[Array]:
        arrays = [*self.params, self.value]
        for term in (self, *self.components):
            if term is not self:
                arrays += term.params
            if term.truncation:
                arrays += [b for b in term.truncation if b is not None]
        return arrays


# --- fast log densities ------------------------------------------------------------------------

def _normal_lp(B: Any, x: Any, mean: Any, sd: Any) -> Any:
    z = (x - mean) / sd
    return -0.5 * z * z - B.np.log(sd) - _HALF_LOG_2PI


def _bernoulli_logit_lp(B: Any, x: Any, logits: Any) -> Any:
    """``x * logits - softplus(logits)`` for ``x`` in {0, 1}, written as
    ``-softplus(-logits)`` or ``-softplus(logits)``: no cancellation for large logits, and
    on a CPU under XLA the per-row pass of a large Bernoulli likelihood costs a fifth less
    (the summed value is fed one array instead of four; ``docs/performance_mcmc.md``)."""
    return -B.special.softplus(B.np.where(x > 0.5, -logits, logits))


def _binomial_logit_lp(B: Any, x: Any, size: Any, logits: Any) -> Any:
    lg = B.special.lgamma
    return (x * logits - size * B.special.softplus(logits)
            + lg(size + 1.0) - lg(x + 1.0) - lg(size - x + 1.0))


def _poisson_log_lp(B: Any, x: Any, log_rate: Any) -> Any:
    return x * log_rate - B.np.exp(log_rate) - B.special.lgamma(x + 1.0)


def _hypergeometric_lp(B: Any, x: Any, m: Any, n: Any, k: Any) -> Any:
    lg = B.special.lgamma

    def lchoose(a: Any, b: Any) -> Any:
        return lg(a + 1.0) - lg(b + 1.0) - lg(a - b + 1.0)

    return lchoose(m, x) + lchoose(n, k - x) - lchoose(m + n, k)


def _f_distribution(B: Any, df1: Any, df2: Any) -> Any:
    tfb = B.tfb
    odds = tfb.Chain([tfb.Exp(), tfb.Invert(tfb.Sigmoid())])
    return B.tfd.TransformedDistribution(
        B.tfd.Beta(df1 / 2.0, df2 / 2.0), tfb.Chain([tfb.Scale(df2 / df1), odds]))


def _categorical_lp(B: Any, x: Any, prob: Any) -> Any:
    return B.tfd.Categorical(probs=prob).log_prob(B.cast(x, B.int_dtype()))


def _categorical_logit_lp(B: Any, x: Any, logits: Any) -> Any:
    return B.tfd.Categorical(logits=logits).log_prob(B.cast(x, B.int_dtype()))


def _discrete_uniform_lp(B: Any, x: Any, low: Any, high: Any) -> Any:
    inside = (B.np.greater_equal(x, low) & B.np.less_equal(x, high)
              & B.np.equal(x, B.np.floor(x)))
    return B.np.log(B.cast(inside, x.dtype)) - B.np.log(high - low + 1.0)


def _discrete_uniform(B: Any, low: Any, high: Any) -> Any:
    """``ceil(u)`` for ``u ~ Uniform(low - 1, high)``: each of low..high equally likely."""
    return B.tfd.QuantizedDistribution(B.tfd.Uniform(low - 1.0, high))


def _cholesky(B: Any, matrix: Any) -> Any:
    return B.linalg.cholesky(matrix)


FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("normal", lambda B, m, s: B.tfd.Normal(m, s), checks=("", "positive"),
           log_prob=_normal_lp),
    Family("lognormal", lambda B, m, s: B.tfd.LogNormal(m, s), "positive",
           checks=("", "positive"), observed_check="positive"),
    Family("student", lambda B, df, m, s: B.tfd.StudentT(df, m, s),
           checks=("positive", "", "positive")),
    Family("cauchy", lambda B, m, s: B.tfd.Cauchy(m, s), checks=("", "positive")),
    Family("laplace", lambda B, m, s: B.tfd.Laplace(m, s), checks=("", "positive")),
    Family("logistic", lambda B, m, s: B.tfd.Logistic(m, s), checks=("", "positive")),
    Family("uniform", lambda B, lo, hi: B.tfd.Uniform(lo, hi), "bounded"),
    Family("exponential", lambda B, r: B.tfd.Exponential(r), "positive", checks=("positive",),
           observed_check="nonnegative"),
    Family("gamma", lambda B, a, r: B.tfd.Gamma(a, r), "positive",
           checks=("positive", "positive"), observed_check="positive"),
    Family("inverse_gamma", lambda B, a, b: B.tfd.InverseGamma(a, b), "positive",
           checks=("positive", "positive"), observed_check="positive"),
    Family("weibull", lambda B, k, s: B.tfd.Weibull(k, s), "positive",
           checks=("positive", "positive"), observed_check="nonnegative"),
    Family("pareto", lambda B, a, b: B.tfd.Pareto(a, b), "pareto",
           checks=("positive", "positive")),
    Family("beta", lambda B, a, b: B.tfd.Beta(a, b), "unit", checks=("positive", "positive"),
           observed_check="unit"),
    Family("chi_squared", lambda B, df: B.tfd.Chi2(df), "positive", checks=("positive",),
           observed_check="nonnegative"),
    Family("f", _f_distribution, "positive", checks=("positive", "positive"),
           observed_check="positive"),
    Family("bernoulli", lambda B, p: B.tfd.Bernoulli(probs=p, dtype=p.dtype), discrete=True,
           checks=("probability",), observed_check="binary"),
    Family("bernoulli_logit", lambda B, l: B.tfd.Bernoulli(logits=l, dtype=l.dtype),
           discrete=True, log_prob=_bernoulli_logit_lp, observed_check="binary"),
    Family("binomial", lambda B, n, p: B.tfd.Binomial(n, probs=p), discrete=True,
           checks=("count", "probability"), observed_check="count"),
    Family("binomial_logit", lambda B, n, l: B.tfd.Binomial(n, logits=l), discrete=True,
           checks=("count", ""), log_prob=_binomial_logit_lp, observed_check="count"),
    Family("beta_binomial", lambda B, n, a, b: B.tfd.BetaBinomial(n, a, b), discrete=True,
           checks=("count", "positive", "positive"), observed_check="count"),
    Family("negative_binomial", lambda B, n, p: B.tfd.NegativeBinomial(n, probs=1.0 - p),
           discrete=True, checks=("positive", "probability"), observed_check="count"),
    Family("poisson", lambda B, r: B.tfd.Poisson(rate=r), discrete=True,
           checks=("nonnegative",), observed_check="count"),
    Family("poisson_log", lambda B, l: B.tfd.Poisson(log_rate=l), discrete=True,
           log_prob=_poisson_log_lp, observed_check="count"),
    Family("hypergeometric", lambda B, m, n, k: None, discrete=True,
           checks=("count", "count", "count"), log_prob=_hypergeometric_lp,
           observed_check="count"),
    Family("categorical", lambda B, p: B.tfd.Categorical(probs=p), discrete=True,
           checks=("simplex",), log_prob=_categorical_lp, observed_check="count"),
    Family("categorical_logit", lambda B, l: B.tfd.Categorical(logits=l), discrete=True,
           log_prob=_categorical_logit_lp, observed_check="count"),
    Family("discrete_uniform", _discrete_uniform, discrete=True,
           log_prob=_discrete_uniform_lp),
    Family("multinomial", lambda B, n, p: B.tfd.Multinomial(n, probs=p), discrete=True,
           event_ndims=1, checks=("count", "simplex"), observed_check="count"),
    Family("dirichlet", lambda B, a: B.tfd.Dirichlet(a), "simplex", event_ndims=1,
           checks=("positive",), observed_check="simplex"),
    Family("dirichlet_multinomial", lambda B, n, a: B.tfd.DirichletMultinomial(n, a),
           discrete=True, event_ndims=1, checks=("count", "positive"), observed_check="count"),
    Family("multivariate_normal", lambda B, m, S: B.tfd.MultivariateNormalTriL(
        m, _cholesky(B, S)), event_ndims=1, checks=("", "covariance")),
    Family("wishart", lambda B, df, S: B.tfd.WishartTriL(df, _cholesky(B, S)), "covariance",
           event_ndims=2, checks=("positive", "covariance"), observed_check="covariance"),
    Family("lkj_correlation", lambda B, eta, d: B.tfd.LKJ(B.shape_of(d)[-1], eta),
           "correlation",
           event_ndims=2, checks=("positive",), observed_check="covariance"),
]}
