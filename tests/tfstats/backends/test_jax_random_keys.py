"""Keys made and split in numpy (``jax_random.seed_key`` / ``split_key``, and the JAX
backend's ``make_seed`` / ``split_seed`` built on them) are jax.random's keys bit for bit,
and the backend's functions still work on a traced key inside ``jax.jit``."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from tfstats.backends import jax as B  # noqa: E402
from tfstats.backends.jax_random import seed_key, split_key  # noqa: E402

SEEDS = (0, 1, 2, 7, 42, 12345, 2**16 + 3, 2**24 - 1, 987_654_321, 2**31 - 2)
COUNTS = tuple(range(1, 17))


def _same(ours: np.ndarray, theirs: jax.Array) -> None:
    theirs = np.asarray(theirs)
    assert ours.dtype == np.uint32 and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_key_is_prng_key(seed: int) -> None:
    _same(seed_key(seed), jax.random.PRNGKey(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_split_key_is_jax_split_for_every_count(seed: int) -> None:
    key = jax.random.PRNGKey(seed)
    for n in COUNTS:
        _same(split_key(seed_key(seed), n), jax.random.split(key, n))


def test_split_children_split_alike() -> None:
    """Keys that are themselves split children (arbitrary high words), three levels deep."""
    ours, theirs = [seed_key(2024)], [jax.random.PRNGKey(2024)]
    for depth in range(3):
        ours = [child for key in ours for child in split_key(key, 3)]
        theirs = [child for key in theirs for child in jax.random.split(key, 3)]
        assert len(ours) == 3 ** (depth + 1)
        for mine, jax_key in zip(ours, theirs, strict=True):
            _same(mine, jax_key)
    assert any(int(key[0]) != 0 for key in ours)  # the children's high words are used
    for key, jax_key in zip(ours, theirs, strict=True):
        for n in (1, 2, 5, 16):
            _same(split_key(key, n), jax.random.split(jax_key, n))


def test_split_key_takes_a_jax_array_key() -> None:
    key = jax.random.PRNGKey(99)
    _same(split_key(key, 4), jax.random.split(key, 4))


@pytest.mark.parametrize("seed", (0, 1, 31, 2**20 + 1, 2**31 - 2))
def test_backend_seeds_are_jax_random_keys(seed: int) -> None:
    key = B.make_seed(seed)
    _same(np.asarray(key), jax.random.PRNGKey(seed))
    for n in (1, 2, 3, 8):
        _same(np.asarray(B.split_seed(key, n)), jax.random.split(jax.random.PRNGKey(seed), n))
    assert np.asarray(B.split_seed(key)).shape == (2, 2)  # two by default


def test_backend_seeds_inside_jit() -> None:
    """A traced key is split by jax.random; a seed made from an int inside a compiled
    function is the same key as outside."""
    split = jax.jit(lambda key: B.split_seed(key, 5))
    made = jax.jit(lambda x: (B.make_seed(17), B.split_seed(B.make_seed(17), 3), x))
    for seed in (0, 5, 2**31 - 2):
        _same(np.asarray(split(B.make_seed(seed))),
              jax.random.split(jax.random.PRNGKey(seed), 5))
    key, children, _ = made(1.0)
    _same(np.asarray(key), jax.random.PRNGKey(17))
    _same(np.asarray(children), jax.random.split(jax.random.PRNGKey(17), 3))


def test_typed_keys_are_split_by_jax() -> None:
    key = jax.random.key(8)
    children = B.split_seed(key, 3)
    np.testing.assert_array_equal(np.asarray(jax.random.key_data(children)),
                                  np.asarray(jax.random.split(jax.random.PRNGKey(8), 3)))
