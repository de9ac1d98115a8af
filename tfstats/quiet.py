"""Quiet by default: importing a backend and fitting print nothing but progress bars and
tfstats' own warnings.

TensorFlow, XLA and JAX log from C++ while they load and probe devices (oneDNN notices,
"Could not find cuda drivers", "failed call to cuInit" on machines without a GPU), and
from Python later (retracing notices, "Using a while_loop for converting Svd"). TensorFlow
2.21 logs through absl, which ignores ``TF_CPP_MIN_LOG_LEVEL``, so the backend is imported
and its devices probed with the process's stderr (file descriptor 2) sent to a temporary
file: lines of known noise (absl INFO and WARNING lines, the CUDA probe) are dropped and
every other line (errors) is written back. The Python loggers of TensorFlow and JAX are
set to show errors only. Libraries tfstats imports for the user (ArviZ) are imported
without their announcements (``_NOTICES``). ``TFSTATS_VERBOSE=1`` turns all of this off.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from types import ModuleType

__all__ = ["import_quietly", "import_without_notices", "native_output", "verbose"]

_NOISE = re.compile(
    r"^\s*$"
    r"|^[IW]\d{4} "                                          # absl INFO / WARNING lines
    r"|^WARNING: All log messages before absl::InitializeLog"
    r"|^To enable the following instructions"                # the CPU-feature notice
    r"|cuInit|cuda_platform|cudart_stub|cuda_dnn|cuda_fft|cuda_blas"  # the CUDA probe
    r"|computation placer already registered"
)
# Python warnings that announce a library's plans (not a problem with the user's model):
# ArviZ 0.22+ prints this FutureWarning at the first import of each day
_NOTICES = ((FutureWarning, r"\s*ArviZ is undergoing a major refactor"),)
_LOGGERS = ("tensorflow", "jax._src.xla_bridge", "jax._src.compiler")


def verbose() -> bool:
    """Whether ``TFSTATS_VERBOSE`` asks for the libraries' own logging."""
    return os.environ.get("TFSTATS_VERBOSE", "").strip().lower() not in ("", "0", "false")


@contextlib.contextmanager
def native_output() -> Iterator[None]:
    """Run the block with file descriptor 2 captured; write back what is not noise."""
    if verbose():
        yield
        return
    with contextlib.suppress(AttributeError, ValueError):
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(AttributeError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines()
            kept = [line for line in lines if not _NOISE.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def _probe_devices() -> None:
    """Initialise the device platforms now (inside the capture): that is when they log."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "config"):
        tf.config.list_physical_devices()
    jax = sys.modules.get("jax")
    if jax is not None and hasattr(jax, "devices"):
        jax.devices()


def quiet_loggers() -> None:
    """Show only errors from the Python loggers of TensorFlow and JAX."""
    if not verbose():
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)


def import_quietly(name: str) -> ModuleType:
    """Import module ``name`` (a backend, or Keras) with the libraries' logging filtered.

    Examples
    --------
    >>> import_quietly("math").sqrt(4.0)
    2.0
    """
    if name in sys.modules:
        return sys.modules[name]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # older TensorFlow honours it
    quiet_loggers()
    with native_output():
        module = importlib.import_module(name)
        _probe_devices()
    quiet_loggers()
    return module


def import_without_notices(name: str) -> ModuleType:
    """Import module ``name`` (one tfstats imports for the user, such as ArviZ) without the
    libraries' announcements (``_NOTICES``); ``TFSTATS_VERBOSE=1`` shows them.

    Examples
    --------
    >>> import_without_notices("arviz").__name__
    'arviz'
    """
    with warnings.catch_warnings():
        if not verbose():
            for category, message in _NOTICES:
                warnings.filterwarnings("ignore", message=message, category=category)
        return importlib.import_module(name)
