"""Inference: MCMC, optimisation, variational inference and predictive simulation."""
