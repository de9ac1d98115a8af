"""The trace store's keys and files: ``stable`` writes a key part the same way in every
process (or raises ``Unstable``), ``digest`` names a model's compiled function by all its
trace depends on, and ``read`` / ``write`` keep a header and a program on disk."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

import tfstats as ts
from tfstats import compile_cache, trace_store
from tfstats.inference.mcmc import CHUNK
from tfstats.model import Model
from tfstats.operations import OPS, _elementwise_shape, _numpy_shape, _square_shape
from tfstats.trace_store import Unstable, stable

SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
N = 20  # above CONSTANT_SIZE: the data are an argument of compiled functions


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The store on, in ``tmp_path``; the returned folder is the JAX one."""
    monkeypatch.setenv("TFSTATS_COMPILATION_CACHE", str(tmp_path))
    monkeypatch.delenv("TFSTATS_TRACE_STORE", raising=False)
    return tmp_path / "traces-jax"


def _schools(y: np.ndarray = Y, mu_sd: float = 5.0) -> Model:
    """Eight schools, written anew (new arrays) at each call."""
    mu = ts.normal(0, mu_sd)
    tau = ts.cauchy(0, 5, truncation=(0, None))
    z = ts.normal(0, 1, dim=8)
    theta = mu + tau * z
    ts.normal(theta, np.array(SIGMA), observed=np.array(y))
    return ts.model(mu, tau, z, theta=theta)


def _normal(y: np.ndarray) -> Model:
    mu = ts.normal(0, 10)
    ts.normal(mu, 1, observed=y)
    return ts.model(mu)


def _key(sampler: object = None, chains: int = 2) -> tuple:
    """A sampling chunk's key, as MCMC's ``_runner`` makes it."""
    return ("mcmc", sampler or ts.nuts(), chains, CHUNK, 0)


def _defined_here(x: float) -> float:
    return 2 * x


# --- stable ------------------------------------------------------------------------------

def test_primitives() -> None:
    assert stable(None) == "None"
    assert stable(True) == "True" and stable(1) == "1" and stable(True) != stable(1)
    assert stable("a") == "'a'" and stable(b"a") == "b'a'" and stable("a") != stable(b"a")
    assert stable(2**70) == str(2**70)
    assert stable(1) != stable(1.0) != stable("1")


def test_floats_bit_for_bit() -> None:
    assert stable(0.1) == (0.1).hex() and stable(0.1) != stable(0.1 + 2**-56)
    assert stable(0.1 + 0.2) != stable(0.3)  # repr-close, not equal
    assert stable(-0.0) != stable(0.0)
    assert stable(float("nan")) == stable(float("nan"))
    assert stable(float("nan")) not in (stable(float("inf")), stable(float("-inf")))
    assert float.fromhex(stable(1 / 3)) == 1 / 3


def test_containers() -> None:
    assert stable((1, 2)) != stable([1, 2])
    assert stable((1,)) != stable(1) and stable(((1, 2),)) != stable((1, 2))
    assert stable(()) != stable([]) != stable({})
    assert stable({"a": 1, "b": (2.5, None)}) == stable({"b": (2.5, None), "a": 1})
    assert stable({"a": 1}) != stable({"a": 2}) != stable({"b": 2})
    assert stable({3, 1, 2}) == stable(frozenset({2, 3, 1})) != stable({1, 2})


def test_numpy_arrays_by_content() -> None:
    a = np.arange(6.0).reshape(2, 3)
    assert stable(a) == stable(a.copy()) == stable(np.arange(6.0).reshape(2, 3))
    assert stable(a.T) == stable(np.ascontiguousarray(a.T))  # a view: its values
    changed = a.copy()
    changed[1, 2] = 5.5
    assert stable(changed) != stable(a)
    assert stable(a.reshape(3, 2)) != stable(a)  # same bytes, another shape
    assert stable(a.astype(np.float32)) != stable(a)
    assert stable(np.zeros(2, np.int64)) != stable(np.zeros(2, np.float64))  # equal bytes


def test_object_arrays_are_unstable() -> None:
    """Their bytes are pointers: no text equal in every process."""
    with pytest.raises(Unstable):
        stable(np.array(["a", "b"], dtype=object))


def test_numpy_scalars_and_dtypes() -> None:
    assert stable(np.float64(0.5)) == stable(np.float64(0.5))
    assert stable(np.float64(0.5)) != stable(np.float32(0.5)) != stable(0.5)
    assert stable(np.int32(3)) != stable(np.int64(3)) != stable(3)
    assert stable(np.float64(-0.0)) != stable(np.float64(0.0))
    assert stable(np.bool_(True)) != stable(True)
    assert stable(np.dtype("float32")) == stable(np.dtype(np.float32))
    assert stable(np.dtype("float32")) != stable(np.dtype("float64"))
    assert stable(np.exp) == stable(np.exp) != stable(np.log)


def test_types() -> None:
    assert stable(float) == "type:builtins.float"
    assert stable(Model) == "type:tfstats.model.Model" != stable(ts.Draws)
    assert stable(np.ndarray).startswith("type:numpy")
    with pytest.raises(Unstable):
        stable(pytest.MonkeyPatch)  # not tfstats, builtins or numpy


def test_samplers() -> None:
    assert stable(ts.nuts()) == stable(ts.nuts())
    assert stable(ts.nuts(target_accept=0.9)) == stable(ts.nuts(target_accept=0.9))
    texts = {stable(s) for s in (ts.nuts(), ts.nuts(target_accept=0.9),
                                 ts.nuts(max_tree_depth=8), ts.nuts(metric="dense"),
                                 ts.hmc(), ts.hmc(n_leapfrog=8))}
    assert len(texts) == 6
    assert "0.9" not in stable(ts.nuts(target_accept=0.9))  # floats by their bits
    assert (0.9).hex() in stable(ts.nuts(target_accept=0.9))


def test_tfstats_functions_and_their_closures() -> None:
    assert stable(ts.normal) == stable(ts.normal) != stable(ts.cauchy)
    cholesky, again = _square_shape("cholesky"), _square_shape("cholesky")
    assert cholesky is not again and stable(cholesky) == stable(again)
    assert stable(_square_shape("inverse")) != stable(cholesky)  # what it closes over
    assert stable(_elementwise_shape("add")) != stable(cholesky)  # another function
    reshape, transpose = OPS["reshape"].shape, OPS["transpose"].shape
    assert reshape.__closure__ and stable(reshape) != stable(transpose)  # closing over
    assert stable(reshape) == stable(OPS["reshape"].shape)                # lambdas


def _as_tfstats(source: str) -> dict:
    """The functions ``source`` defines, as if in a module of tfstats."""
    namespace = {"__name__": "tfstats.test_only"}
    exec(source, namespace)  # noqa: S102 - the test's own code
    return namespace


def test_keyword_defaults_and_recursive_closures() -> None:
    made = _as_tfstats(
        "def keyword(n):\n"
        "    def f(*, k=n):\n"
        "        return k\n"
        "    return f\n"
        "def recursive(n):\n"
        "    def walk(i):\n"
        "        return walk(i - 1) if i else n\n"
        "    return walk\n")
    assert stable(made["keyword"](1)) == stable(made["keyword"](1))
    assert stable(made["keyword"](1)) != stable(made["keyword"](2))
    assert stable(made["recursive"](1)) == stable(made["recursive"](1))
    assert stable(made["recursive"](1)) != stable(made["recursive"](2))


def test_numpy_functions_empty_cells_and_mutual_recursion() -> None:
    assert stable(np.sum) == stable(np.sum) != stable(np.mean)
    assert stable(_numpy_shape(np.sum)) != stable(_numpy_shape(np.mean))
    made = _as_tfstats(
        "def empty():\n"
        "    def f():\n"
        "        return later\n"
        "    cell = f\n"
        "    later = 1\n"
        "    del later\n"
        "    return cell\n"
        "def pair(n):\n"
        "    def a(i):\n"
        "        return b(i - 1) if i else n\n"
        "    def b(i):\n"
        "        return a(i - 1) if i else n\n"
        "    return a\n")
    with pytest.raises(Unstable, match="empty"):
        stable(made["empty"]())
    with pytest.raises(RecursionError):  # digest() takes this as no stable form
        stable(made["pair"](1))


def test_unstable_parts() -> None:
    from tfstats.compile_cache import _Same

    for part in (_defined_here, lambda x: x, object(), _Same(np.zeros(2)),
                 types.SimpleNamespace(a=1), (1, object()), {"a": [object()]},
                 _numpy_shape(_defined_here)):  # a tfstats function closing over one
        with pytest.raises(Unstable):
            stable(part)


# --- digest -----------------------------------------------------------------------------

def test_equal_for_models_built_by_the_same_code(jax_backend: str, store: Path) -> None:
    assert trace_store.digest(_schools(), _key()) == trace_store.digest(_schools(), _key())
    assert trace_store.digest(_schools(), _key()) is not None
    rng = np.random.default_rng(5)
    first, second = (_normal(rng.normal(size=N)) for _ in range(2))
    assert trace_store.digest(first, _key()) == trace_store.digest(second, _key())
    # small data are constants of the program: in the digest by value
    assert trace_store.digest(_schools(), _key()) != trace_store.digest(_schools(Y + 1), _key())
    # large data by shape
    assert trace_store.digest(first, _key()) != trace_store.digest(
        _normal(rng.normal(size=N + 1)), _key())


def test_differs_with_the_prior_and_the_key(jax_backend: str, store: Path) -> None:
    model = _schools()
    base = trace_store.digest(model, _key())
    assert trace_store.digest(_schools(mu_sd=6.0), _key()) != base
    for key in (_key(ts.nuts(target_accept=0.9)), _key(ts.nuts(max_tree_depth=6)),
                _key(chains=4), _key(ts.hmc())):
        assert trace_store.digest(model, key) not in (None, base)
    assert trace_store.digest(model, _key()) == base


def test_differs_with_a_tfstats_setting(jax_backend: str, store: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    model = _schools()
    monkeypatch.delenv("TFSTATS_TEST_SETTING", raising=False)
    base = trace_store.digest(model, _key())
    monkeypatch.setenv("TFSTATS_TEST_SETTING", "1")
    one = trace_store.digest(model, _key())
    monkeypatch.setenv("TFSTATS_TEST_SETTING", "2")
    assert len({base, one, trace_store.digest(model, _key())}) == 3
    monkeypatch.delenv("TFSTATS_TEST_SETTING")
    assert trace_store.digest(model, _key()) == base
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "1")  # the switch itself is not a setting
    assert trace_store.digest(model, _key()) == base


def test_the_users_xla_flags_count_and_tfstats_own_do_not(
        jax_backend: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flags tfstats' TensorFlow backend adds to ``XLA_FLAGS`` are not in the digest
    (a stored JAX program asks for its options again where it is read); the user's are."""
    from tfstats.backends import xla_cpu

    model = _schools()
    user = "--xla_cpu_enable_fast_math=false"
    ours = (f"--{xla_cpu.OPTIMIZATION}=2 "
            f"--{xla_cpu.YNN_FUSION}={xla_cpu.YNN_NO_REDUCE}")
    monkeypatch.setattr(xla_cpu, "_ADDED", set())
    monkeypatch.setenv("XLA_FLAGS", user)
    base = trace_store.digest(model, _key())
    monkeypatch.setattr(xla_cpu, "_ADDED", {xla_cpu.OPTIMIZATION, xla_cpu.YNN_FUSION})
    monkeypatch.setenv("XLA_FLAGS", f"{user} {ours}")
    assert trace_store.digest(model, _key()) == base
    monkeypatch.setenv("XLA_FLAGS", f"--xla_cpu_enable_fast_math=true {ours}")
    assert trace_store.digest(model, _key()) != base
    monkeypatch.setattr(xla_cpu, "_ADDED", set())  # the same flags, named by the user
    monkeypatch.setenv("XLA_FLAGS", f"{user} {ours}")
    assert trace_store.digest(model, _key()) != base


@pytest.mark.parametrize(("name", "value"), [("TFSTATS_TRACE_STORE", "0"),
                                             ("TFSTATS_TRACE_STORE", "off"),
                                             ("TFSTATS_COMPILATION_CACHE", "0")])
def test_none_when_the_store_is_off(name: str, value: str, jax_backend: str, store: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = _schools()
    assert trace_store.digest(model, _key()) is not None
    monkeypatch.setenv(name, value)
    assert trace_store.directory("jax") is None
    assert trace_store.digest(model, _key()) is None


def test_none_without_a_stable_form(jax_backend: str, store: Path) -> None:
    model = _schools()
    assert trace_store.digest(model, ("mcmc", object(), 2)) is None
    assert trace_store.digest(types.SimpleNamespace(discrete=object()), _key()) is None


def test_name_and_source_digest() -> None:
    function = "0" * 40
    assert trace_store.name(function, "(2,)") == trace_store.name(function, "(2,)")
    assert trace_store.name(function, "(2,)") != trace_store.name(function, "(3,)")
    assert trace_store.name(function, "(2,)") != trace_store.name("1" * 40, "(2,)")
    assert len(trace_store.name(function, "")) == 40
    assert trace_store.source_digest() == trace_store.source_digest()


def test_a_model_keeps_its_digest(jax_backend: str, store: Path) -> None:
    """The digest reads the structure key, which a model keeps: asking twice is equal."""
    model = _schools()
    assert compile_cache.structure_key(model) is compile_cache.structure_key(model)
    assert trace_store.digest(model, _key()) == trace_store.digest(model, _key())


# --- read and write ----------------------------------------------------------------------

def test_round_trip(store: Path) -> None:
    program = bytes(range(256)) + b"\n\n{not json}\n"  # newlines in the program too
    header = {"options": {"xla_backend_optimization_level": 2, "flag": False}, "n": [1, 2]}
    path = trace_store.write("jax", "abc", header, program)
    assert path == store / "abc" and path.is_file()
    assert trace_store.read("jax", "abc") == (header, program)


def test_missing_and_garbled_files_read_none(store: Path) -> None:
    assert trace_store.read("jax", "missing") is None
    trace_store.write("jax", "abc", {}, b"x")
    (store / "abc").write_bytes(b"\xff\xfegarbage\x00")
    assert trace_store.read("jax", "abc") is None
    (store / "abc").write_bytes(b"")
    assert trace_store.read("jax", "abc") is None


def test_a_write_replaces_the_older_file_and_leaves_no_partial(store: Path) -> None:
    trace_store.write("jax", "abc", {"version": 1}, b"old program, longer than the new")
    trace_store.write("jax", "abc", {"version": 2}, b"new")
    assert trace_store.read("jax", "abc") == ({"version": 2}, b"new")
    assert sorted(p.name for p in store.iterdir()) == ["abc"]


def test_a_failed_write_returns_none_and_leaves_no_partial(store: Path) -> None:
    (store / "abc").mkdir(parents=True)  # a folder in the way: the rename fails
    assert trace_store.write("jax", "abc", {}, b"program") is None
    assert sorted(p.name for p in store.iterdir()) == ["abc"]


def test_nothing_read_or_written_when_off(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace_store.write("jax", "abc", {}, b"program")
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "0")
    assert trace_store.read("jax", "abc") is None
    assert trace_store.write("jax", "def", {}, b"program") is None
    assert not (store / "def").exists()
    monkeypatch.setenv("TFSTATS_TRACE_STORE", "1")
    assert trace_store.read("jax", "abc") == ({}, b"program")
