"""``strategy=``: the neural estimators on several devices (subprocesses, since devices are
fixed when TensorFlow / JAX start) and the sharded streams."""

import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from estimators.io import csv_input
from estimators.neural import DNNClassifier, KerasRegressor

ROOT = Path(__file__).resolve().parents[3]

# Both fits see the same rows in the same order from the same initial weights; with two
# replicas each global batch is split in halves whose gradients are summed, so only the
# float summation order differs. Accuracies on the held-out rows then agree far within
# 0.02 (one binomial standard error of the accuracy at n = 432 is about 0.019).
ACCURACY_TOLERANCE = 0.02

MIRRORED = """
import json, pickle, tempfile
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np, pandas as pd
from sklearn.base import clone
from estimators.neural import DNNClassifier, KerasClassifier, load

rng = np.random.default_rng(0)
n = 1200
frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.choice(["x", "y", "z"], n)})
y = ((frame.a + frame.b * (frame.c == "x") > 0)).astype(int).to_numpy()
train, test = frame[:768], frame[768:]
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
kw = dict(hidden_units=[16], epochs=8, batch_size=64, random_state=0)
one = DNNClassifier(**kw).fit(train, y[:768])
two = DNNClassifier(strategy=strategy, **kw).fit(train, y[:768])
kernel = two.model_.get_layer("hidden_0").kernel.value
out = {"acc_one": one.score(test, y[768:]), "acc_two": two.score(test, y[768:]),
       "replicas": len(strategy.experimental_local_results(kernel)),
       "steps": int(two.model_.optimizer.iterations.numpy())}
path = two.export(tempfile.mkdtemp() + "/model")
serve = tf.saved_model.load(path).signatures["serving_default"]
probs = serve(a=tf.constant(test.a, tf.float32), b=tf.constant(test.b, tf.float32),
              c=tf.constant(test.c.to_numpy().astype(str)))["probabilities"].numpy()
out["export_error"] = float(np.abs(probs - two.predict_proba(test)).max())
out["load_error"] = float(np.abs(load(path).predict_proba(test) - two.predict_proba(test)).max())
back = pickle.loads(pickle.dumps(two))
out["unpickled_strategy"] = repr(back.strategy)
out["unpickled_error"] = float(np.abs(back.predict_proba(test) - two.predict_proba(test)).max())
out["clone_shares"] = clone(two).strategy is strategy
def build(n_features_in_):
    return keras.Sequential([keras.Input((n_features_in_,)), keras.layers.Dense(1, "sigmoid")])
wrapped = KerasClassifier(build, epochs=1, strategy=strategy, random_state=0)
wrapped.fit(test[["a", "b"]].to_numpy(), y[768:])
out["wrapper_replicas"] = len(strategy.experimental_local_results(
    wrapped.model_.trainable_variables[0].value))
print(json.dumps(out))
"""

WORKER = """
import json, os, sys
index, ports, data = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
    "task": {"type": "worker", "index": index}})
import numpy as np, pandas as pd
import tensorflow as tf
from estimators.io import csv_input
from estimators.neural import DNNClassifier

strategy = tf.distribute.MultiWorkerMirroredStrategy()
stream = csv_input(os.path.join(data, "part-*.csv"), label="y", batch_size=32,
                   shuffle_buffer=64, chunk_size=100, seed=index)
clf = DNNClassifier(hidden_units=[8], epochs=3, learning_rate=0.02, random_state=0,
                    strategy=strategy).fit(stream)
np.savez(os.path.join(data, f"weights-{index}.npz"), *clf.model_.get_weights())
test = pd.read_csv(os.path.join(data, "test.csv"))
np.save(os.path.join(data, f"proba-{index}.npy"), clf.predict_proba(test.drop(columns="y")))
if index == 0:  # the chief writes the export
    clf.export(os.path.join(data, "export"))
print(json.dumps({"steps": int(clf.model_.optimizer.iterations.numpy())}))
"""

JAX = """
import json, pickle
import jax, keras
import numpy as np
from sklearn.base import clone
from estimators.neural import DNNClassifier
assert keras.backend.backend() == "jax" and len(jax.devices()) == 2, jax.devices()
rng = np.random.default_rng(0)
X = rng.normal(size=(1200, 4)).astype("float32")
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
dist = keras.distribution.DataParallel(devices=jax.devices())
kw = dict(hidden_units=[16], epochs=8, batch_size=64, random_state=0)
one = DNNClassifier(**kw).fit(X[:768], y[:768])
two = DNNClassifier(strategy=dist, **kw).fit(X[:768], y[:768])
kernel = two.model_.trainable_variables[0].value
print(json.dumps({"acc_one": one.score(X[768:], y[768:]), "acc_two": two.score(X[768:], y[768:]),
                  "devices": len(kernel.sharding.device_set),
                  "unpickled_strategy": repr(pickle.loads(pickle.dumps(two)).strategy),
                  "clone_shares": clone(two).strategy is dist}))
"""


# after a script's last line: its results are printed and saved, so the process ends
# without the interpreter's teardown (TensorFlow's and JAX's take 2-4 s of each process)
EXIT = """
import os as _os, sys as _sys
_sys.stdout.flush(); _sys.stderr.flush(); _os._exit(0)
"""


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code) + EXIT, *args],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen, timeout: float = 300) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    values = json.loads(out.strip().splitlines()[-1])
    print(values)  # shown with pytest -s
    return values


def test_mirrored_over_two_cpu_devices_trains_like_one_device():
    out = result(run_python(MIRRORED))
    assert out["replicas"] == 2 and out["wrapper_replicas"] == 2
    assert out["steps"] == 8 * 12  # 768 rows, global batch 64
    assert out["acc_one"] > 0.8
    assert abs(out["acc_two"] - out["acc_one"]) <= ACCURACY_TOLERANCE
    assert out["export_error"] < 1e-5 and out["load_error"] < 1e-6
    assert out["unpickled_strategy"] == "None" and out["unpickled_error"] < 1e-6
    assert out["clone_shares"]


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_identical_weights_from_a_sharded_csv_stream(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=(X[:, 0] > X[:, 1]).astype(int))
    frame[:512].to_csv(tmp_path / "part-0.csv", index=False)
    frame[512:1024].to_csv(tmp_path / "part-1.csv", index=False)
    frame[1024:].to_csv(tmp_path / "test.csv", index=False)
    ports = ",".join(map(str, free_ports(2)))
    procs = [run_python(WORKER, str(i), ports, str(tmp_path)) for i in range(2)]
    outs = [result(p, timeout=240) for p in procs]
    # one file per worker, 16 rows per replica per step: 32 steps per epoch, plus one at
    # which the workers find together that their data ran out (tf.distribute's partial
    # batch handling)
    assert outs[0]["steps"] == outs[1]["steps"] == 3 * 33
    first, second = (np.load(tmp_path / f"weights-{i}.npz") for i in range(2))
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    proba = np.load(tmp_path / "proba-0.npy")
    test = frame[1024:]
    assert ((proba[:, 1] > 0.5) == test.y).mean() > 0.9
    serve = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    served = serve(**{c: tf.constant(test[c], tf.float32) for c in "abc"})["probabilities"]
    np.testing.assert_allclose(served.numpy(), proba, atol=1e-5)


@pytest.mark.slow
def test_keras_data_parallel_on_two_jax_devices():
    env = {"KERAS_BACKEND": "jax", "TFSTATS_BACKEND": "jax",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = result(run_python(JAX, env=env))
    assert out["devices"] == 2
    assert out["acc_one"] > 0.7
    assert abs(out["acc_two"] - out["acc_one"]) <= ACCURACY_TOLERANCE
    assert out["unpickled_strategy"] == "None" and out["clone_shares"]


def test_a_strategy_of_the_wrong_kind_is_refused_at_fit():
    X, y = np.zeros((8, 2)), np.arange(8) % 2
    with pytest.raises(ValueError, match="The 'strategy' parameter of DNNClassifier must be "
                                         "a tf.distribute.Strategy"):
        DNNClassifier(strategy="mirrored").fit(X, y)


def build_nothing() -> None:
    return None


def test_clones_share_the_strategy_and_pickles_drop_it():
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    est = KerasRegressor(build_nothing, strategy=strategy, epochs=2)
    assert clone(est).strategy is strategy
    assert clone(est).epochs == 2
    assert pickle.loads(pickle.dumps(est)).strategy is None
    assert est.strategy is strategy


def test_streams_shard_by_file_or_by_row(tmp_path):
    for i in range(3):
        pd.DataFrame({"x": np.arange(10) + 10 * i}).to_csv(tmp_path / f"p{i}.csv", index=False)
    files = csv_input(str(tmp_path / "p*.csv"), chunk_size=4)

    def rows(stream, shard):
        return np.concatenate([c.x.to_numpy() for c in stream.chunks(shard)]).tolist()

    assert rows(files, (2, 0)) == list(range(10)) + list(range(20, 30))  # files 0 and 2
    assert rows(files, (2, 1)) == list(range(10, 20))
    one = csv_input(str(tmp_path / "p0.csv"), chunk_size=4)
    assert rows(one, (3, 1)) == [1, 4, 7]  # fewer files than readers: every 3rd row
    assert rows(one, (1, 0)) == list(range(10))
    with pytest.raises(ValueError, match="shard"):
        rows(one, (2, 2))
