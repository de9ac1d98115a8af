"""tfstats: Bayesian models in plain Python, compiled to TensorFlow (or JAX).

Write a model with arrays, operators, numpy functions and indexing; ``model()`` compiles
it into one log-density function; fit it by MCMC (``mcmc``), optimisation (``opt``) or
variational inference (``vi``, with ``minibatch`` data for large data sets).

Examples
--------
>>> import numpy as np, tfstats as ts
>>> y = np.array([0.8, 1.3, 0.2, 1.9])
>>> mu = ts.normal(0, 5)
>>> sigma = ts.cauchy(0, 2, truncation=(0, None))
>>> _ = ts.normal(mu, sigma, observed=y)
>>> m = ts.model(mu, sigma)
>>> fit = ts.opt(m, seed=1)
>>> fit.converged
True
"""

from tfstats import datasets
from tfstats.arrays import Array, ModelError, ShapeError
from tfstats.backends import backend_name, set_backend
from tfstats.data import as_data
from tfstats.distributions import (
    bernoulli,
    beta,
    beta_binomial,
    binomial,
    categorical,
    cauchy,
    chi_squared,
    dirichlet,
    dirichlet_multinomial,
    discrete_uniform,
    exponential,
    f,
    gamma,
    hypergeometric,
    inverse_gamma,
    laplace,
    lkj_correlation,
    logistic,
    lognormal,
    multinomial,
    multivariate_normal,
    negative_binomial,
    normal,
    pareto,
    poisson,
    student,
    uniform,
    weibull,
    wishart,
)
from tfstats.draws import Draws
from tfstats.factor import factor
from tfstats.formulas import glm
from tfstats.functions import (
    cholesky,
    concatenate,
    diag,
    ilogit,
    imultilogit,
    inverse,
    iprobit,
    lgamma,
    log1pe,
    logsumexp,
    ones,
    outer,
    scan,
    solve,
    stack,
    where,
    zeros,
)
from tfstats.inference.mcmc import extra_samples, mcmc
from tfstats.inference.optimize import OptResult, opt
from tfstats.inference.predictive import calculate
from tfstats.inference.samplers import Sampler, hmc, nuts, rwmh, slice
from tfstats.inference.variational import VIResult, vi
from tfstats.minibatch import minibatch
from tfstats.mixtures import joint, mixture
from tfstats.model import Model, model
from tfstats.ode import ode
from tfstats.scale_priors import half_cauchy, half_normal, half_student, lkj_cholesky
from tfstats.tracking import autolog
from tfstats.variables import cholesky_variable, ordered_variable, simplex_variable, variable

__version__ = "0.1.0"

__all__ = [
    "autolog",
    "Array", "as_data", "backend_name", "bernoulli", "beta", "beta_binomial", "binomial",
    "calculate", "categorical", "cauchy", "chi_squared", "cholesky", "cholesky_variable",
    "discrete_uniform",
    "concatenate", "datasets", "diag", "dirichlet", "dirichlet_multinomial", "Draws", "exponential",
    "extra_samples", "f", "gamma", "glm", "hmc", "hypergeometric", "ilogit", "imultilogit",
    "inverse",
    "inverse_gamma", "iprobit", "joint", "laplace", "lgamma", "lkj_correlation", "log1pe",
    "logistic", "lognormal", "logsumexp", "mcmc", "minibatch", "mixture", "model", "Model",
    "ModelError",
    "multinomial", "multivariate_normal", "negative_binomial", "normal", "nuts", "ones", "opt",
    "OptResult", "ordered_variable", "outer", "pareto", "poisson", "rwmh", "Sampler", "scan",
    "set_backend", "ShapeError", "simplex_variable", "slice", "solve", "stack", "student",
    "uniform", "variable", "vi", "VIResult", "weibull", "where", "wishart", "zeros",
    "factor", "half_cauchy", "half_normal", "half_student", "lkj_cholesky",
    "ode",
]
