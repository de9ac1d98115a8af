"""Samplers: one class each (a frozen dataclass of its settings that knows its kernel),
and the functions users call to make them. See ``base.py`` for the interface."""

from tfstats.inference.samplers.base import Sampler, accept_probability, sampler_class
from tfstats.inference.samplers.hamiltonian import HMC, hmc
from tfstats.inference.samplers.metropolis import RWMH, rwmh
from tfstats.inference.samplers.no_u_turn import NUTS, nuts
from tfstats.inference.samplers.slicing import Slice, slice  # noqa: A004

__all__ = ["Sampler", "NUTS", "HMC", "RWMH", "Slice", "nuts", "hmc", "rwmh", "slice",
           "sampler_class", "accept_probability"]
