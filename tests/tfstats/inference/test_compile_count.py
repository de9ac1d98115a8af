"""One XLA compilation of the sampling loop per model on the TensorFlow backend: parallel
chains share the loop compiled once (in the background, before their threads start), not
once per chain, vectorised chains compile their own loop once, the starting points
compile no XLA program, and a second ``mcmc`` of the model compiles nothing. Counted
from XLA's own log in a fresh process (the count is per process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import numpy as np, tfstats as ts
mu = ts.normal(0.0, 2.0)
ts.normal(mu, 1.5, observed=np.array([1.2, 0.4, 2.2, 1.9, 0.7]))
model = ts.model(mu=mu)
for method in ("parallel", "vectorized"):
    for seed in (1, 2):
        draws = ts.mcmc(model, n_samples=60, warmup=60, chains=3, seed=seed, progress=False,
                        chain_method=method)
        print("draws", draws["mu"].shape, flush=True)
"""


def test_one_xla_compile_of_the_loop_for_all_chains_and_calls() -> None:
    env = {**os.environ, "TFSTATS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "0",
           "TF_CPP_VMODULE": "device_compiler=2", "TFSTATS_COMPILATION_CACHE": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("draws (3, 60)") == 4
    compiled = re.findall(r"Instantly compiling for signature: (\S+)", run.stderr)
    loops = [name for name in compiled if "chunk" in name]
    assert len(loops) == 2 and len(set(loops)) == 2, compiled  # one per chain method
    hits = re.findall(r"Already Compiled for signature: (\S+)", run.stderr)
    # every chunk of every chain (two calls, 3 chains, 120 iterations in chunks of 50),
    # then of the vectorised chains (two calls of 3 chunks)
    assert sum("chunk" in name for name in hits) >= 2 * 3 * 3 + 2 * 3
