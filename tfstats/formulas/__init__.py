"""Formulas on data frames, brms / bambi style: ``glm(formula, data, family, priors)``
makes an ordinary tfstats ``Model`` (fit it with ``mcmc``, ``opt`` or ``vi``) and
``Model.predict`` gives its predictions for new rows.

The formula is parsed by ``formulae`` (bambi's formula package). Modules: ``design``
(formula + data frame -> matrices, data checks), ``family`` (response families and links),
``priors`` (bambi's default priors, user priors), ``build`` (``glm``), ``predict``.
"""

from tfstats.formulas.build import GlmSpec, glm
from tfstats.formulas.family import GLM_FAMILIES
from tfstats.formulas.predict import predict

__all__ = ["glm", "predict", "GlmSpec", "GLM_FAMILIES"]
