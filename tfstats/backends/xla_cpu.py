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

__all__ = ["FUSION_EMITTERS", "configure_xla_cpu"]

FUSION_EMITTERS = "xla_cpu_use_fusion_emitters"


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
    flags = os.environ.get("XLA_FLAGS", "")
    if FUSION_EMITTERS not in flags:
        flags = f"{flags} --{FUSION_EMITTERS}=false".strip()
        os.environ["XLA_FLAGS"] = flags
    return flags
