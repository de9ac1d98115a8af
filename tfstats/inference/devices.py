"""The ``devices=`` and ``shard=`` arguments of ``mcmc``, ``vi`` and ``opt``: where a fit
runs when JAX sees several devices (GPUs, or CPU devices forced with
``XLA_FLAGS=--xla_force_host_platform_device_count``).

``shard="chains"`` (``mcmc``'s default) spreads the chains over the devices, each device
running its own chains' loop; ``shard="data"`` (``vi``'s and ``opt``'s only mode) splits
the rows of the data over the devices and sums the likelihood across them. The machinery is
the JAX backend's (``tfstats.backends.jax_devices``); on TensorFlow a fit runs on one
device, and asking for more is an error that points to the JAX backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tfstats.backends import backend_name
from tfstats.model import Model

__all__ = ["SHARDS", "AUTO_DATA_ROWS", "OneDevice", "placement", "data_rows"]

SHARDS = ("chains", "data")
#: with ``devices=None``, ``vi`` and ``opt`` split data of at least this many rows
AUTO_DATA_ROWS = 100_000


class OneDevice:
    """The placement of a fit on one device: everything as it was."""

    key: tuple = ()
    size = 1
    axis = None

    def chunk(self, build: Callable[[int], Callable], chains: int) -> Callable:
        return build(chains)

    def with_data(self, fn: Callable, leading: int) -> Callable:
        return fn

    def put(self, data: tuple) -> tuple:
        return data


class _OnMesh:
    """A fit on a ``DeviceMesh`` (chains or data split over its axis)."""

    def __init__(self, mesh: Any, rows: int) -> None:
        self.mesh, self.rows = mesh, rows
        self.key, self.size, self.axis = mesh.key, mesh.size, mesh.axis

    def chunk(self, build: Callable[[int], Callable], chains: int) -> Callable:
        """The MCMC chunk for ``chains`` chains: per device (chains), or whole (data)."""
        if self.axis == "chains":
            return self.mesh.chain_parallel(build(chains // self.size))
        from tfstats.backends.jax_aot import AheadOfTime  # XLA:CPU options, as on one device

        return self.mesh.placed(AheadOfTime(build(chains)), 7)  # x, adapt, seed, ..., data

    def put(self, data: tuple) -> tuple:
        return self.mesh.put(data, self.rows)

    def with_data(self, fn: Callable, leading: int) -> Callable:
        """``fn`` with its arguments after the first ``leading`` (the data) placed."""

        placed = self.mesh.placed(fn, leading)

        def call(*args: Any) -> Any:
            return placed(*args[:leading], *self.put(tuple(args[leading:])))

        return call


def data_rows(model: Model) -> int:
    """The number of rows of the model's data: the longest leading axis of its data
    arguments (0 without any)."""
    rows = 0
    for node in model.data_nodes:
        value = getattr(node, "full", None)
        value = node.value if value is None else value
        if np.ndim(value) >= 1:
            rows = max(rows, int(np.shape(value)[0]))
    return rows


def _largest_divisor(n: int, at_most: int) -> int:
    return max(k for k in range(1, max(1, min(n, at_most)) + 1) if n % k == 0)


def _check(devices: Any, shard: Any, caller: str) -> None:
    if shard is not None and shard not in SHARDS:
        raise ValueError(f"shard must be one of {SHARDS} or None, got {shard!r}")
    if caller != "mcmc" and shard == "chains":
        raise ValueError(f"{caller} has no chains to spread: shard must be 'data' or None, "
                         f"got {shard!r}")
    if devices is None:
        return
    if isinstance(devices, bool) or not isinstance(devices, int | np.integer | Sequence) \
            or isinstance(devices, str):
        raise TypeError(f"devices must be None, a number of devices or a list of JAX "
                        f"devices, got {devices!r}")
    if isinstance(devices, int | np.integer) and devices < 1:
        raise ValueError(f"devices must be at least 1, got {devices!r}")
    if isinstance(devices, Sequence) and not devices:
        raise ValueError("devices is an empty list")


def _chosen(devices: Any, platform: str | None) -> list[Any]:
    from tfstats.backends.jax_devices import visible_devices

    visible = visible_devices(platform)
    if devices is None:
        return visible
    if isinstance(devices, int | np.integer):
        if devices > len(visible):
            kind = visible[0].platform
            raise ValueError(f"devices={int(devices)} but JAX sees {len(visible)} {kind} "
                             f"device(s) (jax.devices()); on CPU, "
                             f"XLA_FLAGS=--xla_force_host_platform_device_count=N set "
                             f"before JAX starts gives N")
        return visible[:int(devices)]
    unknown = [d for d in devices if not hasattr(d, "platform") or not hasattr(d, "id")]
    if unknown:
        raise TypeError(f"devices must hold JAX devices (from jax.devices()), got "
                        f"{unknown[0]!r}")
    return list(devices)


def placement(model: Model, devices: Any = None, shard: str | None = None, *,
              caller: str = "mcmc", chains: int = 1, platform: str | None = None) -> Any:
    """Where a fit runs: ``OneDevice()`` or a mesh of the chosen devices.

    ``devices``: None (every visible device when there are several; for ``vi`` and ``opt``
    only with at least ``AUTO_DATA_ROWS`` rows of data), a number of devices (the first
    ones; 1 turns it off) or a list of JAX devices. The chains (or the rows) are split
    evenly: the largest number of the devices that divides them is used.

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 1)
    >>> _ = ts.normal(mu, 1, observed=np.zeros(20))
    >>> placement(ts.model(mu), devices=1).size
    1
    """
    _check(devices, shard, caller)
    axis = shard or ("chains" if caller == "mcmc" else "data")
    if backend_name() != "jax":
        if (devices is not None and not _is_one(devices)) or shard is not None:
            given = f"devices={devices!r}" if devices is not None else f"shard={shard!r}"
            raise ValueError(f"{given}: spreading a fit over several devices needs the JAX "
                             f"backend (ts.set_backend('jax') or TFSTATS_BACKEND=jax); on "
                             f"TensorFlow {caller} runs on one device")
        return OneDevice()
    if _is_one(devices):
        return OneDevice()
    chosen = _chosen(devices, platform)
    rows = data_rows(model)
    if axis == "chains":
        used = _largest_divisor(chains, len(chosen))
    else:
        auto_small = devices is None and shard is None and rows < AUTO_DATA_ROWS
        used = 1 if auto_small or rows == 0 else _largest_divisor(rows, len(chosen))
    if used == 1 and isinstance(devices, int | np.integer | None):
        return OneDevice()
    from tfstats.backends.jax_devices import DeviceMesh

    return _OnMesh(DeviceMesh(chosen[:used], axis), rows)


def _is_one(devices: Any) -> bool:
    return isinstance(devices, int | np.integer) and int(devices) == 1
