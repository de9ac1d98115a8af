"""Model: the graph connected to its target arrays, its unknowns, and its log density."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tfstats import labels
from tfstats.arrays import Array, Data, ModelError, Variable, check_usable
from tfstats.backends import backend_name, get_backend
from tfstats.blocked_glm import find_blocked_glm
from tfstats.compile_cache import shared_compiled
from tfstats.errors import check_names
from tfstats.families import Density
from tfstats.graph import CONSTANT_SIZE, Evaluator, topological
from tfstats.inference.enumeration import split_discrete
from tfstats.linear_gaussian import Statistics, find_linear_gaussian, refresh
from tfstats.minibatch import MinibatchData, term_scales
from tfstats.mixed_precision import single_data
from tfstats.mutable import checked_values, data_names, mutable_by_name

__all__ = ["Model", "model"]

PRECISIONS = ("mixed", "double", "single")


def _caller_names(frame: Any, arrays: list[Any]) -> list[str | None]:
    """Names that the caller's local variables give to ``arrays``."""
    local = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
    names: list[str | None] = []
    for array in arrays:
        found = [k for k, v in local.items() if v is array and not k.startswith("_")]
        names.append(found[0] if found else None)
    return names


class Model:
    """A compiled-on-demand statistical model.

    Made by :func:`model`. Holds the unknowns (``variable_names``), the density terms
    connected to the targets, and the compiled functions (cached per backend and
    settings). ``linear_gaussian`` lists the normal likelihoods summed from sufficient
    statistics (``tfstats/linear_gaussian.py``), ``blocked_glm`` the GLM likelihoods whose
    value and gradient may be summed in one pass over blocks of rows
    (``tfstats/blocked_glm.py``).
    """

    formula: Any = None  # set by glm(): what predict() needs

    def __init__(self, targets: dict[str, Array], precision: str | None = None,
                 local_names: dict[int, str] | None = None, coords: Any = None,
                 dims: Any = None) -> None:
        if precision is None:
            precision = "single" if get_backend().has_gpu() else "mixed"
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'mixed', 'double' or 'single', got "
                             f"{precision!r}")
        if not targets:
            raise ModelError("model() needs at least one array")
        for name, target in targets.items():
            if not isinstance(target, Array):
                close = difflib.get_close_matches(name, ["precision", "coords", "dims"], n=1)
                raise ModelError(f"model(): {name!r} is not a tfstats array (got "
                                 f"{type(target).__name__})" +
                                 (f"; did you mean {close[0]}=?" if close else ""))
            check_usable(target)
        self.targets = dict(targets)
        self.precision = precision
        self.variables, self.terms = self._collect()
        # discrete unknowns are summed out: self.terms keeps the terms free of them
        self.variables, self.terms, self.discrete = split_discrete(
            self.variables, self.terms, self._discrete_names(local_names or {}))
        if not self.variables:
            raise ModelError("the model has no unknowns: give model() arrays that depend on "
                             "at least one unknown (a distribution called without observed=, "
                             "or variable())")
        self._name_variables(local_names or {})
        self.observed_names = labels.unique_names(
            [labels.observed_name(t.value) for t in self.observed_terms])
        self.coords, self.dims = labels.resolve(
            self.output_arrays(), coords, dims,
            {n: t.value.shape for n, t in zip(self.observed_names, self.observed_terms,
                                              strict=True)})
        self.layout: dict[Variable, tuple[int, tuple[int, ...]]] = {}
        offset = 0
        for var in self.variables:
            free = var.constraint.free_shape(var.shape)
            self.layout[var] = (offset, free)
            offset += int(np.prod(free, dtype=np.int64))
        self.n_free = offset
        group_terms = [t for g in self.discrete.groups for t in g.terms] if self.discrete else []
        roots = list(self.targets.values()) + [a for t in self.terms + group_terms
                                               for a in t.arrays()]
        roots += [p for v in self.variables for p in v.parents]
        nodes = topological(roots)
        self.data_nodes = [n for n in nodes if isinstance(n, Data) and (
            n.value.size > CONSTANT_SIZE or isinstance(n, MinibatchData) or n.mutable)]
        self.single_data = single_data(precision, self.data_nodes)  # passed in float32
        self.mutable_data = mutable_by_name(nodes, local_names or {})
        self.fixed_data_names = data_names(nodes, local_names or {}, self.observed_names)
        self.term_scales = term_scales(self.terms)  # N / batch_size over minibatched data
        # Gaussian terms with a linear mean on data: summed from statistics (linear_gaussian)
        self.linear_gaussian = [] if any(isinstance(n, MinibatchData) for n in nodes) else (
            find_linear_gaussian(self.terms, self.term_scales))
        self.data_nodes += [r.statistics for r in self.linear_gaussian]
        # GLM likelihoods on large designs: value and gradient in one pass (blocked_glm)
        self.blocked_glm = [] if any(isinstance(n, MinibatchData) for n in nodes) else (
            find_blocked_glm(self.terms, self.term_scales,
                             4 if precision == "single" or self.single_data else 8))
        # loops in the density: scans, ODEs, summed-out unknowns mapped in a loop
        self.has_loops = any(n.op in ("scan", "ode") for n in nodes) or (
            self.discrete is not None and any(self.backend.maps_in_a_loop(g.configurations())
                                              for g in self.discrete.groups))
        self._cache: dict[Any, Any] = {}
        self._data_tensors: dict[Any, tuple] = {}

    # --- structure ---------------------------------------------------------------------------
    def _collect(self) -> tuple[list[Variable], list[Density]]:
        found: set[Variable] = set()
        terms: list[Density] = []
        # by creation order, not by the sets' hash order: a rebuilt model gets its terms in
        # the same order (one structure, one compiled function: compile_cache)
        def ordered(variables: frozenset[Variable]) -> list[Variable]:
            return sorted(variables, key=lambda v: v.serial, reverse=True)

        frontier = [v for t in self.targets.values() for v in ordered(t.variables)]
        while frontier:
            var = frontier.pop()
            if var in found:
                continue
            check_usable(var)
            found.add(var)
            for parent in var.parents:
                frontier.extend(ordered(parent.variables))
            for term in var.terms:
                if term not in terms:
                    terms.append(term)
                    for array in term.arrays():
                        frontier.extend(ordered(array.variables))
        return sorted(found, key=lambda v: v.serial), terms

    def _discrete_names(self, local_names: dict[int, str]) -> dict[Variable, str]:
        by_target = {id(t): n for n, t in self.targets.items()}
        return {v: by_target.get(id(v)) or local_names.get(id(v)) or v.name or ""
                for v in self.variables if v.discrete}

    def _name_variables(self, local_names: dict[int, str]) -> None:
        by_target = {id(t): n for n, t in self.targets.items() if isinstance(t, Variable)}
        self.names: dict[Variable, str] = {}
        used: set[str] = set()
        for i, var in enumerate(self.variables):
            name = by_target.get(id(var)) or local_names.get(id(var)) or var.name
            if not name or name in used:
                name = f"unknown_{i}"
            used.add(name)
            self.names[var] = name
        self.variable_names = [self.names[v] for v in self.variables]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without compiled functions and tensors: rebuilt when first needed."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_cache", "_data_tensors", "_structure_key", "_structure_nodes")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _cache={}, _data_tensors={})

    @property
    def observed(self) -> dict[str, Array]:
        """The observed data arrays by name (``observed_names``): simulate one with
        ``calculate(m.observed["y"], values=draws)``, also after loading a pickled model."""
        return dict(zip(self.observed_names, [t.value for t in self.observed_terms],
                        strict=True))

    @property
    def observed_terms(self) -> list[Density]:
        """The likelihood terms of observed data (named by ``observed_names``), those that
        discrete unknowns enter (summed out) included."""
        group_terms = [t for g in self.discrete.groups for t in g.terms] if self.discrete else []
        return [t for t in self.terms + group_terms if isinstance(t.value, Data)]

    def __repr__(self) -> str:
        parts = ", ".join(f"{self.names[v]}{list(v.shape) if v.shape else ''}"
                          for v in self.variables)
        return f"<tfstats Model: {len(self.variables)} unknowns ({parts}), {self.n_free} free>"

    # --- backend plumbing ----------------------------------------------------------------------
    @property
    def backend(self) -> Any:
        return get_backend()

    @property
    def float_dtype(self) -> Any:
        return self.backend.float_dtype(self.precision)

    def data_tensors(self) -> tuple:
        """The data arguments of compiled functions, converted once per backend."""
        key = (backend_name(), self.precision)
        if key not in self._data_tensors:
            B = self.backend
            refresh(getattr(self, "linear_gaussian", []), B)  # from the current data
            ev = Evaluator(B, self.float_dtype, {})
            wide = B.float_dtype("double")  # statistics stay float64
            single = B.float_dtype("single")  # precision="mixed": the large data
            self._data_tensors[key] = tuple(
                B.convert(n.value, wide) if isinstance(n, Statistics)
                else B.convert(n.value, single) if i in self.single_data
                else ev._constant(n.value) for i, n in enumerate(self.data_nodes))
        return self._data_tensors[key]

    def evaluator(self, data: tuple, flat: Any = None,
                  constrained: dict[Variable, Any] | None = None,
                  row_blocks: dict | None = None) -> Evaluator:
        B = self.backend
        return Evaluator(B, self.float_dtype, dict(zip(self.data_nodes, data, strict=True)),
                         constrained=constrained, flat=flat, layout=self.layout,
                         single=B.float_dtype("single") if self.single_data else None,
                         row_blocks=row_blocks)

    def log_density(self, flat: Any, data: tuple, adjust: bool = True,
                    row_blocks: dict | None = None) -> Any:
        """The log density at one unconstrained vector (backend tensors, not compiled);
        ``row_blocks``: the sums of ``blocked_glm`` terms swept for all chains
        (``inference/batched_density.py``)."""
        B = self.backend
        ev = self.evaluator(data, flat=flat, row_blocks=row_blocks)
        total = self._sum_terms(ev)
        if not adjust:
            return total
        for var in self.variables:  # unknowns no density uses still need their Jacobian
            ev(var)
        return total + B.cast(ev.log_jacobian, self.float_dtype)

    def _sum_terms(self, ev: Evaluator) -> Any:
        B = self.backend
        total = B.convert(0.0, self.float_dtype)
        rewrites = {id(r.term): r for r in [*getattr(self, "linear_gaussian", []),
                                             *getattr(self, "blocked_glm", [])]}
        for term, scale in zip(self.terms, self.term_scales, strict=True):
            rewrite = rewrites.get(id(term))
            # numpy constants in a term may promote it: cast back
            term_total = B.cast(rewrite.log_density(ev) if rewrite else
                                B.np.sum(ev.log_density(term)), self.float_dtype)
            total = total + (term_total * scale if scale != 1.0 else term_total)
        if self.discrete is not None:
            total = total + self.discrete.log_marginal(ev)
        return total

    def compiled(self, key: Any, build: Callable[[], Callable]) -> Callable:
        """A compiled function cached on this model per backend and ``key``, shared with
        models of the same structure (``compile_cache``)."""
        full_key = (backend_name(), self.precision, key)
        if full_key not in self._cache:
            self._cache[full_key] = shared_compiled(self, full_key, build)
        return self._cache[full_key]

    def set_data(self, **values: Any) -> None:
        """Replace the values of mutable data (``ts.as_data(x, mutable=True)``) by name.

        The new values must have the same shape and kind (float, int, bool); they are
        checked as data are when a model is written, and a bad one changes nothing. The
        compiled functions of this model (and of models of the same structure) are reused:
        ``opt``, ``mcmc``, ``vi`` and ``calculate`` use the new values without tracing or
        compiling again. Draws of this model then refer to the new data too.

        Examples
        --------
        >>> import numpy as np, tfstats as ts
        >>> x = ts.as_data(np.array([1.0, 2.0, 3.0]), mutable=True)
        >>> slope = ts.normal(0, 1)
        >>> mean = slope * x
        >>> m = ts.model(slope, mean)
        >>> m.set_data(x=[4.0, 5.0, 6.0])
        >>> float(ts.calculate(mean, values={"slope": 2.0})[0])
        8.0
        """
        group_terms = [t for g in self.discrete.groups for t in g.terms] if self.discrete else []
        priors = [v.prior for v in self.variables if v.prior is not None]
        new = checked_values(self, values, [*self.terms, *group_terms, *priors])
        for node, value in new.items():
            node.value = value
        if new:
            self._data_tensors.clear()  # converted again, once, when next needed

    # --- values --------------------------------------------------------------------------------
    def _constrained_inputs(self, values: dict[str, Any]) -> dict[Variable, Any]:
        check_names(values, self.variable_names, "values")
        missing = [n for n in self.variable_names if n not in values]
        if missing:
            raise KeyError(f"values are missing for {missing}")
        out = {}
        for var in self.variables:
            value = np.asarray(values[self.names[var]], dtype=np.float64)
            if value.shape != var.shape:
                try:
                    value = np.broadcast_to(value, var.shape)
                except ValueError:
                    raise ValueError(f"value for {self.names[var]!r} has shape {value.shape}, "
                                     f"expected {var.shape}") from None
            out[var] = value
        return out

    def log_prob(self, values: dict[str, Any]) -> float:
        """The log density at constrained ``values`` (a dict by unknown name), without the
        Jacobian of the transformations. Discrete unknowns are summed out: this is the
        marginal density of the continuous unknowns (and ``values`` holds only those).

        Examples
        --------
        >>> import tfstats as ts
        >>> mu = ts.normal(0, 1)
        >>> m = ts.model(mu)
        >>> round(m.log_prob({"mu": 0.0}), 4)
        -0.9189
        """
        B = self.backend
        inputs = self._constrained_inputs(values)
        ev = self.evaluator(self.data_tensors(), constrained=inputs)
        if any(self._free_value(ev, var, inputs[var]) is None for var in self.variables):
            return -np.inf  # outside the support: TFP densities would extrapolate
        return float(B.to_numpy(self._sum_terms(ev)))

    def _free_value(self, ev: Evaluator, var: Variable, value: np.ndarray) -> np.ndarray | None:
        """The unconstrained value of ``var``, or None when ``value`` is outside its support
        (the inverse transformation is not finite, or does not map back to ``value``)."""
        B = self.backend
        bijector = var.constraint.bijector(B.tfb, [ev.to_float(ev(b)) for b in var.parents])
        u = bijector.inverse(ev.to_float(value))
        free = np.asarray(B.to_numpy(u))
        back = np.asarray(B.to_numpy(bijector.forward(u)))
        if not np.all(np.isfinite(free)) or not np.allclose(back, value, rtol=1e-6,
                                                            atol=1e-9):
            return None
        return free

    def unconstrain(self, values: dict[str, Any]) -> np.ndarray:
        """The unconstrained vector for constrained ``values`` of every unknown."""
        inputs = self._constrained_inputs(values)
        ev = self.evaluator(self.data_tensors(), constrained=inputs)
        flat = np.zeros(self.n_free)
        for var in self.variables:
            offset, free = self.layout[var]
            u = self._free_value(ev, var, inputs[var])
            if u is None:
                raise ValueError(f"the value given for {self.names[var]!r} is outside its "
                                 f"support ({type(var.constraint).__name__.lower()} "
                                 f"constraint{self._bounds_text(var, ev)})")
            size = int(np.prod(free, dtype=np.int64))
            flat[offset:offset + size] = np.reshape(u, -1)
        return flat

    def _bounds_text(self, var: Variable, ev: Evaluator) -> str:
        if not var.parents:
            return ""
        constraint = var.constraint
        labels = [n for n, has in (("lower", getattr(constraint, "has_lower", False)),
                                   ("upper", getattr(constraint, "has_upper", False))) if has]
        values = [np.asarray(self.backend.to_numpy(ev(b))) for b in var.parents]
        return ": " + ", ".join(f"{n}={v.tolist()}" for n, v in zip(labels, values,
                                                                     strict=False))

    def constrain_function(self) -> Callable:
        """A batch of unconstrained vectors -> dict of every unknown and target, by name.
        Traced once (no XLA: it runs once per fit, so compiling would cost more)."""

        def build() -> Callable:
            B = self.backend
            wanted = self.output_arrays()

            def one(flat: Any, *data: Any) -> dict:
                ev = self.evaluator(data, flat=flat)
                return {n: ev.to_float(ev(a)) for n, a in wanted.items()}

            batched = B.vectorize(one)
            return B.compile_function(lambda flats, *data: batched(flats, *data), xla=False)

        return self.compiled("constrain", build)

    def constrain_draws(self, x: np.ndarray, batch: int = 2000) -> dict[str, np.ndarray]:
        """Constrained values of every unknown and target for unconstrained draws ``x`` of
        shape (chains, draws, n_free): dict of (chains, draws, *shape) arrays."""
        B = self.backend
        chains, n = x.shape[:2]
        flat = x.reshape(chains * n, self.n_free)
        outputs = self.output_arrays()
        if flat.shape[0] == 0:
            return {k: np.zeros((chains, 0, *a.shape)) for k, a in outputs.items()}
        fn = self.constrain_function()
        parts: dict[str, list[np.ndarray]] = {k: [] for k in outputs}
        for start in range(0, flat.shape[0], batch):
            chunk = B.convert(flat[start:start + batch], self.float_dtype)
            for k, v in B.to_numpy(fn(chunk, *self.data_tensors())).items():
                parts[k].append(np.asarray(v))
        return {k: np.concatenate(v).reshape(chains, n, *outputs[k].shape)
                for k, v in parts.items()}

    def predict(self, draws: Any, data: Any = None, kind: str = "mean",
                seed: int | None = None) -> np.ndarray:
        """Predictions of a model made by :func:`glm`, for the fitted rows or new ``data``.

        Parameters
        ----------
        draws : Draws or OptResult
            A fit of this model (``mcmc``, ``vi``'s ``draws()``, or ``opt``).
        data : pandas.DataFrame, optional
            New rows with the columns the formula's predictors use; the fitted rows when
            None. A level of a group factor not seen in fitting gets, at each draw, an effect
            drawn from its group distribution ``normal(0, sd)``; a new level of a common
            (fixed) factor is an error naming the column and the level.
        kind : {"mean", "response"}
            The expected value of the response (the inverse link of the linear predictor),
            or draws of the response itself (posterior predictive).
        seed : int, optional
            Seed for new groups' effects and for ``kind="response"``.

        Returns
        -------
        numpy.ndarray
            Shape (chains, draws, rows); (rows,) for an ``OptResult``.

        Examples
        --------
        >>> import pandas as pd, tfstats as ts
        >>> df = pd.DataFrame({"y": [0.9, 2.1, 2.9, 4.2], "x": [1.0, 2.0, 3.0, 4.0]})
        >>> m = ts.glm("y ~ x", df)
        >>> fit = ts.opt(m, seed=1)
        >>> m.predict(fit, data=pd.DataFrame({"x": [5.0]})).round(1)
        array([5.2])
        """
        if self.formula is None:
            raise ModelError("predict() needs a model made by ts.glm (this model has no "
                             "formula)")
        return self.formula.predict(self, draws, data=data, kind=kind, seed=seed)

    def output_arrays(self) -> dict[str, Array]:
        out: dict[str, Array] = {self.names[v]: v for v in self.variables}
        summed_out = set(self.discrete.variables) if self.discrete else set()
        for name, target in self.targets.items():
            if not target.variables & summed_out:  # those come from calculate()
                out.setdefault(name, target)
        return out


def model(*arrays: Array, precision: str | None = None, coords: dict[str, Any] | None = None,
          dims: dict[str, Any] | None = None, **named: Array) -> Model:
    """Define a model from the arrays of interest.

    The model holds every unknown and density connected to these arrays. Positional
    arrays are named after the caller's variables holding them.

    Parameters
    ----------
    *arrays : Array
        Arrays to track, named from the caller's variable names.
    precision : {"mixed", "double", "single"}, optional
        Float precision of compiled functions. "double": float64 everywhere. "single":
        float32 everywhere. "mixed" (the default on a CPU): float64, except that float
        data arrays of at least 16,384 elements are passed in float32 and the data-sized
        work on them (matrix products, elementwise operations, density terms) runs in
        float32; unknowns, sums and the samplers stay float64 (``docs/backends.md``).
        Models without such data run exactly as "double". Default "single" when the
        backend sees a GPU.
    coords : dict of str -> sequence, optional
        Labels of named dimensions (ArviZ's ``coords``): ``{"county": names}``.
    dims : dict of str -> list of str, optional
        The dimension names of the axes of an unknown, target or observed data array
        (ArviZ's ``dims``): ``{"alpha": ["county"]}``; None (or a short list) leaves an
        axis labelled by integer positions. Labels name summary rows (``alpha[AITKIN]``),
        data-frame columns, ArviZ coordinates and warnings.
    **named : Array
        Arrays to track, with their names.

    Returns
    -------
    Model

    Examples
    --------
    >>> import numpy as np, tfstats as ts
    >>> mu = ts.normal(0, 5)
    >>> sigma = ts.variable(lower=0)
    >>> y = ts.normal(mu, sigma, observed=np.array([1.2, 0.4, 2.2]))
    >>> m = ts.model(mu, sigma)
    >>> m.variable_names
    ['mu', 'sigma']
    >>> alpha = ts.normal(0, 1, dim=2)
    >>> m2 = ts.model(alpha, coords={"county": ["AITKIN", "ANOKA"]}, dims={"alpha": ["county"]})
    >>> m2.dims
    {'alpha': ['county']}
    """
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    try:
        names = _caller_names(caller, list(arrays))
        targets: dict[str, Array] = {}
        for i, (array, name) in enumerate(zip(arrays, names, strict=True)):
            targets[name or f"array_{i}"] = array
        for name, array in named.items():
            if name in targets:
                raise ModelError(f"model(): the name {name!r} is given twice")
            targets[name] = array
        local_names: dict[int, str] = {}
        if caller is not None:
            for key, value in {**caller.f_globals, **caller.f_locals}.items():
                if isinstance(value, Variable | Data) and not key.startswith("_"):
                    local_names.setdefault(id(value), key)
    finally:
        del frame, caller
    return Model(targets, precision=precision, local_names=local_names, coords=coords,
                 dims=dims)
