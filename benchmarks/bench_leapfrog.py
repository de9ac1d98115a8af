"""Time per leapfrog step inside MCMC's compiled loop (JAX backend), and where it goes.

One model of ``mcmc_systems`` (``--workload``) is warmed up (4 chains, the default
sampler); its chunk of the sampling loop (``inference/mcmc.py``) is then compiled once
per set of XLA:CPU options (``--options``, JSON objects; ``auto``: the options tfstats
chooses, ``backends/jax_aot.compiler_options``) and run from the same post-warmup state
for 50 iterations, the variants interleaved, ``--reps`` times each. A leapfrog step here
is one batched evaluation of the log density and its gradient (all chains), as many as
the iterations' longest trees. ``--profile`` adds a ``jax.profiler`` trace of one call
per variant: each XLA thunk's median and minimum time over the steps (the minimum is the
steadier figure on a loaded machine), the largest first. The compile times printed are
loads from the persistent compilation cache unless ``TFSTATS_COMPILATION_CACHE=0``.

Usage::

    TFSTATS_BACKEND=jax python benchmarks/bench_leapfrog.py --workload logistic \\
        --options auto '{"xla_cpu_use_fusion_emitters": false}' --profile
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "thunk_times"]

sys.path.insert(0, str(Path(__file__).resolve().parent))

_NOT_THUNKS = ("ThunkExecutor", "$", "Pjit", "Common", "Slinky", "Alloc", "Handle", "end:",
               "while", "call.")


def thunk_times(call: Any) -> dict[str, list[float]]:
    """Durations (µs) of each XLA:CPU thunk that ``call()`` runs, by name."""
    import jax

    directory = tempfile.mkdtemp(prefix="bench-leapfrog-")
    try:
        jax.profiler.start_trace(directory, create_perfetto_trace=True)
        call()
        jax.profiler.stop_trace()
        path = sorted(glob.glob(f"{directory}/**/*.trace.json.gz", recursive=True))[-1]
        with gzip.open(path) as file:
            trace = json.load(file)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    times: dict[str, list[float]] = collections.defaultdict(list)
    for event in events:
        if event.get("ph") == "X" and not event["name"].startswith(_NOT_THUNKS):
            times[event["name"]].append(float(event.get("dur", 0)))
    return times


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="logistic",
                        choices=("eight_schools", "logistic", "radon", "correlated"))
    parser.add_argument("--options", nargs="+", default=["auto"],
                        help='"auto" (tfstats\' choice) or a JSON object of XLA options')
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    for text in args.options:
        if text != "auto" and not isinstance(_json_or_none(text), dict):
            parser.error(f"--options: {text!r} is neither \"auto\" nor a JSON object of "
                         "XLA options")

    import mcmc_systems as systems

    import tfstats as ts
    from tfstats.backends.jax_aot import compiler_options
    from tfstats.inference import mcmc as mcmc_module

    model = systems.tfstats_model(ts, args.workload, systems.workload_data(args.workload, False),
                                  None)
    B = model.backend
    if B.name != "jax":
        raise SystemExit("run with TFSTATS_BACKEND=jax")
    warmup = systems.settings(args.workload, False)["warmup"]
    draws = ts.mcmc(model, n_samples=10, warmup=warmup, chains=4, seed=1, progress=False,
                    chain_method="vectorized")
    state = draws.chain_state
    call_args = (B.convert(state.x, model.float_dtype),
                 {k: B.convert(v, model.float_dtype) for k, v in state.adaptation.items()},
                 state.seed, B.convert(warmup + 100), B.convert(50), B.convert(False),
                 {k: B.convert(v) for k, v in state.schedule.items()}, *model.data_tensors())
    programs = {}
    for text in args.options:
        traced = mcmc_module._build_chunk(model, draws.sampler, 4).trace(*call_args)
        options = compiler_options(traced.jaxpr) if text == "auto" else json.loads(text)
        start = time.process_time()
        programs[text] = traced.lower().compile(compiler_options=options or None)
        print(f"{text}: options {options}, compiled in {time.process_time() - start:.2f} s CPU")
    steps, wall, cpu = {}, collections.defaultdict(list), collections.defaultdict(list)
    for _ in range(args.reps):
        for text, program in programs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            buffers = B.to_numpy(program(*call_args)[3])
            steps[text] = float(buffers["n_steps"][:50].max(axis=1).sum())
            wall[text].append((time.perf_counter() - start) / steps[text] * 1e3)
            cpu[text].append((time.process_time() - start_cpu) / steps[text] * 1e3)
    for text in programs:
        print(f"{text}: {steps[text]:.0f} leapfrog steps per 50 iterations; ms per step: "
              f"wall min {min(wall[text]):.3f} median {np.median(wall[text]):.3f}, "
              f"CPU min {min(cpu[text]):.3f} median {np.median(cpu[text]):.3f}")
    if args.profile:
        for text, program in programs.items():
            times = thunk_times(lambda p=program: B.to_numpy(p(*call_args)[3]))
            per_step = sum(sum(v) for v in times.values()) / steps[text]
            floor = sum(len(v) * min(v) for v in times.values()) / steps[text]
            print(f"{text}: thunks per step {sum(map(len, times.values())) / steps[text]:.0f}, "
                  f"their time {per_step:.0f} µs per step (from each thunk's minimum: "
                  f"{floor:.0f})")
            ranked = sorted(times.items(), key=lambda kv: -len(kv[1]) * np.median(kv[1]))
            for name, values in ranked[:args.top]:
                print(f"    {name[:40]:40s} {len(values) / steps[text]:5.2f} per step, median "
                      f"{np.median(values):7.1f} µs, min {min(values):7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
