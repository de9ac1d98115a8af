"""XLA:CPU settings the TensorFlow backend makes before TensorFlow starts.

XLA:CPU's newer fusion emitters (MLIR, on by default in the XLA of TensorFlow 2.21) take
about 40% more compile time on the samplers' loops than the classic elemental emitters,
for loops that run no faster (``docs/performance_mcmc.md``, "TensorFlow first call"), and
every model pays that compile on its first ``mcmc``. The backend therefore asks for the
classic emitters, unless ``XLA_FLAGS`` already names the setting. ``XLA_FLAGS`` is read by
every XLA in the process: JAX, when started after TensorFlow, compiles with it too.
"""

from __future__ import annotations

import os

__all__ = ["FUSION_EMITTERS", "configure_xla_cpu", "emitters_switched_off"]

FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"
_SWITCHED_OFF = False


def configure_xla_cpu() -> str:
    """Add ``--xla_cpu_use_fusion_emitters=false`` to ``XLA_FLAGS`` unless the flag is
    there already (the user's choice is kept); returns the flags. Run before TensorFlow is
    imported.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.get("XLA_FLAGS")
    >>> os.environ["XLA_FLAGS"] = "--xla_cpu_use_fusion_emitters=true"
    >>> configure_xla_cpu()  # the user's setting is kept
    '--xla_cpu_use_fusion_emitters=true'
    >>> _ = os.environ.pop("XLA_FLAGS") if saved is None else os.environ.update(XLA_FLAGS=saved)
    """
    global _SWITCHED_OFF
    flags = os.environ.get("XLA_FLAGS", "")
    if FUSION_EMITTERS not in flags:
        flags = f"{flags} --{FUSION_EMITTERS}=false".strip()
        os.environ["XLA_FLAGS"] = flags
        _SWITCHED_OFF = True
    return flags


def emitters_switched_off() -> bool:
    """Whether :func:`configure_xla_cpu` (not the user) switched the fusion emitters off in
    ``XLA_FLAGS``: a JAX started later in the process reads that too, and its programs
    that gather, which run faster with the emitters, then ask for them back
    (``backends.jax_aot.compiler_options``)."""
    return _SWITCHED_OFF
