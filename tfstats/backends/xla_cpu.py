"""XLA:CPU settings for the samplers' compiled loops, on both backends.

Two settings cut the compile time that every model pays on its first ``mcmc``, for loops
that run no slower (``docs/performance_mcmc.md``, "TensorFlow first call" and "XLA's
backend optimisation level"):

- XLA:CPU's newer fusion emitters (MLIR, on by default in the XLA of TensorFlow 2.21) take
  about 40% more compile time on the samplers' loops than the classic elemental emitters;
- LLVM's optimisation level 3 (XLA's default) takes 0.3-0.5 s more per sampling loop than
  level 2 (``OPTIMIZATION_LEVEL``), and the loops ran as fast at level 2; level 1 halved
  the speed of a vectorised GLM gradient.

The TensorFlow backend asks for both in ``XLA_FLAGS`` before TensorFlow starts, unless
``XLA_FLAGS`` already names the setting (the user's choice is kept). ``XLA_FLAGS`` is read
by every XLA in the process: JAX, when started after TensorFlow, compiles with it too. The
JAX backend passes them per program instead (``backends.jax_aot.compiler_options``).
"""

from __future__ import annotations

import os

__all__ = ["FUSION_EMITTERS", "OPTIMIZATION", "OPTIMIZATION_LEVEL", "configure_xla_cpu",
           "emitters_switched_off", "user_sets"]

FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"
OPTIMIZATION = "xla_backend_optimization_level"
OPTIMIZATION_LEVEL = 2
_SWITCHED_OFF = False
_ADDED: set[str] = set()  # the flags configure_xla_cpu put in XLA_FLAGS


def user_sets(flag: str) -> bool:
    """Whether the user's ``XLA_FLAGS`` names ``flag`` (then tfstats leaves that setting
    alone); flags that :func:`configure_xla_cpu` added do not count."""
    return flag not in _ADDED and flag in os.environ.get("XLA_FLAGS", "")


def configure_xla_cpu() -> str:
    """Add ``--xla_cpu_use_fusion_emitters=false`` and
    ``--xla_backend_optimization_level=2`` to ``XLA_FLAGS``, each unless the flag is there
    already (the user's choice is kept); returns the flags. Run before TensorFlow is
    imported.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.get("XLA_FLAGS")
    >>> os.environ["XLA_FLAGS"] = "--xla_cpu_use_fusion_emitters=true"
    >>> configure_xla_cpu()  # the user's setting is kept
    '--xla_cpu_use_fusion_emitters=true --xla_backend_optimization_level=2'
    >>> _ = os.environ.pop("XLA_FLAGS") if saved is None else os.environ.update(XLA_FLAGS=saved)
    """
    global _SWITCHED_OFF
    flags = os.environ.get("XLA_FLAGS", "")
    if FUSION_EMITTERS not in flags:
        flags = f"{flags} --{FUSION_EMITTERS}=false".strip()
        _SWITCHED_OFF = True
        _ADDED.add(FUSION_EMITTERS)
    if OPTIMIZATION not in flags:
        flags = f"{flags} --{OPTIMIZATION}={OPTIMIZATION_LEVEL}".strip()
        _ADDED.add(OPTIMIZATION)
    os.environ["XLA_FLAGS"] = flags
    return flags


def emitters_switched_off() -> bool:
    """Whether :func:`configure_xla_cpu` (not the user) switched the fusion emitters off in
    ``XLA_FLAGS``: a JAX started later in the process reads that too, and its programs
    that gather, which run faster with the emitters, then ask for them back
    (``backends.jax_aot.compiler_options``)."""
    return _SWITCHED_OFF
