"""Several devices on the JAX backend: a one-axis mesh over the devices, and the two ways
a fit uses it.

- Chains: ``shard_map`` gives each device its own chains and runs the compiled MCMC chunk
  there, each device with its own loop (NumPyro's ``chain_method="parallel"``): a device
  never waits for another's longest NUTS tree. The data are copied to every device.
- Data: the rows of the data arrays are placed with a row-sharded ``NamedSharding`` and the
  compiled function is left as it is: XLA's SPMD partitioner evaluates the likelihood on
  each device's rows and sums the parts across the devices (an all-reduce), for the value
  and for the gradient alike. The result is the same function, whatever the sharding.

An MCMC chunk on a mesh is compiled ahead of time (``jax_aot.AheadOfTime``) with the XLA:CPU
options of the one-device chunk: with XLA's defaults, the NUTS chunk of a small logistic
regression on four CPU devices took 8.5 s (chains) and 9.7 s (data) to compile, with them
3.8 s and 4.1 s (``tests/tfstats/inference/multidevice_run.py``). ``placed`` puts every
argument the same way at every call, so the executable compiled for the first call's
shardings serves the later ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from tfstats.backends.jax_aot import AheadOfTime

__all__ = ["visible_devices", "DeviceMesh"]


def visible_devices(platform: str | None = None) -> list[Any]:
    """The devices JAX sees (of ``platform``, "cpu" or "gpu", else the default one)."""
    return list(jax.devices(platform) if platform else jax.devices())


def _global(value: Any, sharding: NamedSharding) -> Any:
    """``value`` (the same in every process) as one array placed by ``sharding``: each
    device gets its slice (across processes, by ``make_array_from_callback``)."""
    if isinstance(value, jax.Array) and value.sharding == sharding:
        return value
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    host = numpy.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


class DeviceMesh:
    """A mesh of ``devices`` with one axis, named ``axis`` ("chains" or "data").

    Examples
    --------
    >>> mesh = DeviceMesh(visible_devices("cpu")[:1], "data")
    >>> mesh.key
    ('data', ('cpu', 0))
    >>> [a.shape for a in mesh.put((numpy.zeros((4, 2)), numpy.zeros(3)), rows=4)]
    [(4, 2), (3,)]
    """

    def __init__(self, devices: Sequence[Any], axis: str) -> None:
        self.devices = tuple(devices)
        self.axis = axis
        self.mesh = Mesh(numpy.array(self.devices, dtype=object), (axis,))
        self.key = (axis, tuple(x for d in self.devices for x in (d.platform, d.id)))
        self._placed: tuple[tuple, tuple] | None = None

    @property
    def size(self) -> int:
        return len(self.devices)

    def sharding(self, value: Any, rows: int) -> NamedSharding:
        """Split the leading axis over the mesh (data mode, an array of ``rows`` rows that
        the devices divide evenly); else a copy on every device."""
        shape = numpy.shape(value)
        split = (self.axis == "data" and len(shape) >= 1 and shape[0] == rows
                 and rows % self.size == 0)
        return NamedSharding(self.mesh, P(self.axis) if split else P())

    def put(self, data: tuple, rows: int) -> tuple:
        """``data`` placed on the mesh (once per tuple: a fit passes the same one each
        call)."""
        if self._placed is not None and self._placed[0] is data:
            return self._placed[1]
        placed = tuple(_global(value, self.sharding(value, rows)) for value in data)
        self._placed = (data, placed)
        return placed

    def placed(self, fn: Callable, leading: int, split: int = 0) -> Callable:
        """``fn`` with its first ``leading`` arguments (not the data) put on the mesh, the
        first ``split`` of them split by their leading axis and the others copied: the
        same placement at every call, so that ``jax.jit`` compiles once (an argument
        that arrives uncommitted, then as the last call's output, is two placements)."""
        whole, parts = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P(self.axis))

        def call(*args: Any) -> Any:
            put = [jax.tree.map(lambda a, s=parts if k < split else whole: _global(a, s), arg)
                   for k, arg in enumerate(args[:leading])]
            return fn(*put, *args[leading:])

        return call

    def chain_parallel(self, chunk: Callable) -> Callable:
        """Run the MCMC chunk ``(x, adapt, seed, start, n_iter, restart, schedule, *data)
        -> (x, adapt, seed, buffers)`` on every device for its share of the chains.

        ``chunk`` is built for ``chains / size`` chains. ``x``, every entry of ``adapt``
        and the buffers' second axis are split by chain; each device draws from its own
        key (the seed folded with its index) and the next seed is the same everywhere.
        """
        axis = self.axis
        chains = P(axis)

        def local(x: Any, adapt: dict, seed: Any, *rest: Any) -> tuple:
            next_seed, own = jax.random.split(seed)
            own = jax.random.fold_in(own, jax.lax.axis_index(axis))
            x, adapt, _, buffers = chunk(x, adapt, own, *rest)
            return x, adapt, next_seed, buffers

        def run(*args: Any) -> tuple:
            in_specs = (chains, chains) + (P(),) * (len(args) - 2)
            mapped = jax.shard_map(local, mesh=self.mesh, in_specs=in_specs,
                                   out_specs=(chains, chains, P(), P(None, axis)),
                                   check_vma=False)
            return mapped(*args)

        return self.placed(AheadOfTime(jax.jit(run)), 7, split=2)
