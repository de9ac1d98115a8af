"""XLA:CPU settings for the samplers' compiled loops, on both backends.

Two settings cut the compile time that every model pays on its first ``mcmc``, for loops
that run no slower (``docs/performance_mcmc.md``, "TensorFlow first call" and "XLA's
backend optimisation level"):

- XLA:CPU's newer fusion emitters (MLIR, on by default in the XLA of TensorFlow 2.21) take
  about 40% more compile time on the samplers' loops than the classic elemental emitters;
- LLVM's optimisation level 3 (XLA's default) takes 0.3-0.5 s more per sampling loop than
  level 2 (``OPTIMIZATION_LEVEL``), and the loops ran as fast at level 2; level 1 halved
  the speed of a vectorised GLM gradient.

A third makes the GLMs' pass over row blocks on large data faster on TensorFlow, at no
compile-time cost: no YNNPACK reductions (``YNN_FUSION=-reduce``: the reduction taken out of
XLA's default set of YNNPACK fusions, the rest kept). TensorFlow 2.21's XLA:CPU hands
a sum over rows (a block's log densities, its intercept gradient: (rows, chains) summed
over the rows) to YNNPACK by default; XLA's own loop ran the one pass over row blocks
(``tf_blocks.py``) at N = 1,000,000 about 12 % faster in wall time, where eight schools' and
radon's first call did not change (``docs/performance_mcmc.md``, "TensorFlow without
YNNPACK's reductions").

The TensorFlow backend asks for all three in ``XLA_FLAGS`` before TensorFlow starts, unless
``XLA_FLAGS`` already names the setting (the user's choice is kept), and names what it
added in ``TFSTATS_XLA_FLAGS_ADDED``: a process it starts inherits both, and there too
those flags are tfstats', not the user's. ``XLA_FLAGS`` is read
by every XLA in the process: JAX, when started after TensorFlow, compiles with it too (the
JAX backend passes the first two per program instead, ``backends.jax_aot.compiler_options``;
and JAX's programs ask for its default set of YNNPACK fusions back, ``YNN_DEFAULT``:
without YNNPACK's reductions JAX's one pass over row blocks cost 1.1-1.25x the CPU).
"""

from __future__ import annotations

import os

__all__ = ["ADDED_VARIABLE", "FUSION_EMITTERS", "OPTIMIZATION", "OPTIMIZATION_LEVEL",
           "YNN_DEFAULT", "YNN_FUSION",
           "YNN_NO_REDUCE", "configure_xla_cpu", "emitters_switched_off",
           "ynn_reductions_taken_out", "user_flags", "user_sets"]

FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"
OPTIMIZATION = "xla_backend_optimization_level"
OPTIMIZATION_LEVEL = 2
YNN_FUSION = "xla_cpu_experimental_ynn_fusion_type"
YNN_NO_REDUCE = "-reduce"  # taken out of XLA's default set of YNNPACK fusions
# jaxlib's default set, for a JAX compilation to ask back (one option value, comma-separated)
YNN_DEFAULT = ("LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION,"
               "LIBRARY_FUSION_TYPE_REDUCE")
# names the flags that tfstats put in XLA_FLAGS, for the processes it starts (which
# inherit both variables): there they are tfstats' too, not the user's
ADDED_VARIABLE = "TFSTATS_XLA_FLAGS_ADDED"


def _inherited() -> set[str]:
    """The flags a parent tfstats process added to ``XLA_FLAGS`` (``ADDED_VARIABLE``),
    those still in ``XLA_FLAGS`` as it wrote them."""
    present = set(os.environ.get("XLA_FLAGS", "").split())
    return {token[2:].partition("=")[0]
            for token in os.environ.get(ADDED_VARIABLE, "").split() if token in present}


_ADDED: set[str] = _inherited()  # the flags configure_xla_cpu (here or in a parent) added


def user_sets(flag: str) -> bool:
    """Whether the user's ``XLA_FLAGS`` names ``flag`` (then tfstats leaves that setting
    alone); flags that :func:`configure_xla_cpu` added do not count."""
    return flag not in _ADDED and flag in os.environ.get("XLA_FLAGS", "")


def user_flags() -> str:
    """``XLA_FLAGS`` without the flags :func:`configure_xla_cpu` added: the user's own.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.get("XLA_FLAGS")
    >>> os.environ["XLA_FLAGS"] = "--xla_cpu_enable_fast_math=false"
    >>> user_flags() == os.environ["XLA_FLAGS"]
    True
    >>> _ = os.environ.pop("XLA_FLAGS") if saved is None else os.environ.update(XLA_FLAGS=saved)
    """
    return " ".join(token for token in os.environ.get("XLA_FLAGS", "").split()
                    if not any(token.startswith(f"--{flag}=") for flag in _ADDED))


def configure_xla_cpu() -> str:
    """Add ``--xla_cpu_use_fusion_emitters=false``, ``--xla_backend_optimization_level=2``
    and ``--xla_cpu_experimental_ynn_fusion_type=-reduce`` to ``XLA_FLAGS``, each
    unless the flag is there already (the user's choice is kept); returns the flags. Run
    before TensorFlow is imported. A setting named in ``XLA_FLAGS`` is the user's and kept:

    Examples
    --------
    >>> import os
    >>> saved = os.environ.get("XLA_FLAGS")
    >>> os.environ["XLA_FLAGS"] = "--xla_cpu_use_fusion_emitters=true"
    >>> configure_xla_cpu().split()  # doctest: +NORMALIZE_WHITESPACE
    ['--xla_cpu_use_fusion_emitters=true', '--xla_backend_optimization_level=2',
     '--xla_cpu_experimental_ynn_fusion_type=-reduce']
    >>> _ = os.environ.pop("XLA_FLAGS") if saved is None else os.environ.update(XLA_FLAGS=saved)
    """
    flags = os.environ.get("XLA_FLAGS", "")
    added = []
    for flag, value in ((FUSION_EMITTERS, "false"), (OPTIMIZATION, OPTIMIZATION_LEVEL),
                        (YNN_FUSION, YNN_NO_REDUCE)):
        if flag not in flags:
            flags = f"{flags} --{flag}={value}".strip()
            _ADDED.add(flag)
        if flag in _ADDED:
            added.append(f"--{flag}={value}")
    os.environ["XLA_FLAGS"] = flags
    os.environ[ADDED_VARIABLE] = " ".join(added)
    return flags


def emitters_switched_off() -> bool:
    """Whether :func:`configure_xla_cpu` (not the user) switched the fusion emitters off in
    ``XLA_FLAGS``: a JAX started later in the process reads that too, and its programs
    that gather, which run faster with the emitters, then ask for them back
    (``backends.jax_aot.compiler_options``)."""
    return FUSION_EMITTERS in _ADDED


def ynn_reductions_taken_out() -> bool:
    """Whether :func:`configure_xla_cpu` (not the user) took YNNPACK's reductions out in
    ``XLA_FLAGS``: a JAX started later in the process reads that too, and its programs ask
    for jaxlib's default set back (``YNN_DEFAULT``, ``backends.jax_aot.compiler_options``)."""
    return YNN_FUSION in _ADDED
