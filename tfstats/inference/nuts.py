"""The No-U-Turn sampler, batched over chains, with Stan's robust U-turn checks.

TFP's ``NoUTurnSampler`` tests only the span of each (sub)tree. For near-Gaussian
posteriors that misses U-turns at some step sizes ("resonances", Stan issue #2799): at
some step sizes its trees run to 31-255 leapfrog steps where 7 suffice, and dual averaging
visits such step sizes all through warmup. This kernel follows Stan (>= 2.21): multinomial
sampling (uniform within a subtree, biased toward the new subtree when merging), the
generalised criterion on summed momenta, and the two extra checks across merged subtrees.
Subtrees are built iteratively with momentum checkpoints (as in NumPyro), all chains in
lockstep; a chain that has finished waits, masked (on data-heavy models its density is
not evaluated while at most half the chains are active: ``active_chains.py``).

The state is on the scale of the mass matrix (unit metric), so sharp momenta are momenta.

A transition's random numbers are numbered streams of its one seed (``Backend.uniform``'s
``stream``), with no key split inside it: in the compiled loop every split and every draw
is a hash of its own, and they were half of the loop's program
(``docs/performance_mcmc.md``, "A smaller sampling loop").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from tfstats.inference.active_chains import evaluate_active

__all__ = ["NoUTurn", "NUTSResults"]

# one transition's random draws: streams of its seed (``Backend.uniform``), no key splits
# (each split, and each draw, is a hash of its own in the compiled loop): the momentum
# and the direction and merge draws of every doubling are stream 0, leaf ``i`` stream 1 + i
_LEAF_STREAMS = 1


class NUTSResults(NamedTuple):
    """Per-chain results of one transition (field names follow TFP's kernel results)."""

    target_log_prob: Any
    grads_target_log_prob: Any
    step_size: Any
    log_accept_ratio: Any
    leapfrogs_taken: Any
    has_divergence: Any
    energy: Any


class NoUTurn:
    """A batched NUTS kernel.

    Parameters
    ----------
    B : module
        The backend.
    value_and_grad : callable
        ``z (chains, n) -> (log density (chains,), gradient (chains, n))``.
    step_size : tensor
        Per-chain step sizes, shape (chains, 1).
    max_tree_depth : int
        At most ``2**max_tree_depth - 1`` leapfrog steps per transition.
    max_energy_error : float
        An energy error above this is a divergence.
    """

    def __init__(self, B: Any, value_and_grad: Callable, step_size: Any,
                 max_tree_depth: int = 10, max_energy_error: float = 1000.0) -> None:
        self.B = B
        self.value_and_grad = value_and_grad
        self.step_size = step_size
        self.max_tree_depth = int(max_tree_depth)
        self.max_energy_error = float(max_energy_error)

    def bootstrap_results(self, z: Any) -> NUTSResults:
        lp, grad = self.value_and_grad(z)
        zero = lp * 0.0
        return NUTSResults(lp, grad, self.step_size, zero, zero, zero > 1.0, -lp)

    # --- helpers -----------------------------------------------------------------------------

    def _uniform(self, like: Any, seed: Any, stream: Any) -> Any:
        return self.B.uniform(like, seed, stream)

    def _persists(self, p_minus: Any, p_plus: Any, rho: Any) -> Any:
        """Stan's generalised no-U-turn criterion (unit metric)."""
        np_ = self.B.np
        return (np_.sum(p_plus * rho, axis=-1) > 0.0) & (np_.sum(p_minus * rho, axis=-1) > 0.0)

    def _checkpoints(self, k: Any) -> tuple[Any, Any]:
        """The checkpoint slots a leaf ``k`` of a subtree closes (``idx_min..idx_max``)."""
        np_ = self.B.np
        powers = np_.asarray([2**i for i in range(self.max_tree_depth + 1)], dtype=k.dtype)
        one, zero = np_.ones_like(k), np_.zeros_like(k)
        idx_max = np_.sum(np_.where(np_.bitwise_and(k, powers[1:]) != 0, one, zero))
        lowest_zero = np_.bitwise_and(k + 1, -(k + 1))  # 2**(k's trailing ones)
        trailing_ones = np_.sum(np_.where(powers < lowest_zero, one, zero))
        return idx_max - trailing_ones + 1, idx_max

    def _momentum_and_turns(self, z: Any, seed: Any) -> tuple[Any, Any]:
        """A transition's draws before its leaves, from one uniform draw: the momentum
        (chains, n) by the Box-Muller transform, and each doubling's direction and merge
        uniforms (max_tree_depth, 2, chains)."""
        np_ = self.B.np
        chains, n = self.B.shape_of(z)
        u = self._uniform(np_.zeros((2, chains, n + self.max_tree_depth), dtype=z.dtype),
                          seed, 0)
        radius = np_.sqrt(-2.0 * np_.log1p(-u[0, :, :n]))  # 1 - u in (0, 1]: finite
        p0 = radius * np_.cos(2.0 * math.pi * u[1, :, :n])
        return p0, np_.transpose(u[:, :, n:], (2, 0, 1))

    # --- one transition ----------------------------------------------------------------------

    def one_step(self, z: Any, results: NUTSResults, seed: Any) -> tuple[Any, NUTSResults]:
        B = self.B
        np_ = B.np
        eps = results.step_size
        lp0, g0 = results.target_log_prob, results.grads_target_log_prob
        p0, turns = self._momentum_and_turns(z, seed)
        h0 = -lp0 + 0.5 * np_.sum(p0**2, axis=-1)
        zero = lp0 * 0.0
        tree = {"zl": z, "pl": p0, "gl": g0, "zr": z, "pr": p0, "gr": g0,
                "z": z, "lp": lp0, "g": g0, "p": p0, "log_w": zero, "rho": p0,
                "n": zero, "accept": zero, "divergent": zero > 1.0, "go": zero < 1.0}

        def doubling(depth: Any, tree_: dict) -> tuple:
            u = turns[depth]
            forward = u[0] < 0.5
            fwd = forward[:, None]
            start = {k: np_.where(fwd, tree_[k + "r"], tree_[k + "l"]) for k in "zpg"}
            sub = self._subtree(depth, start, np_.where(fwd, eps, -eps), h0, tree_["go"], seed)
            ok = tree_["go"] & ~sub["divergent"] & ~sub["turning"]
            take = ok & (u[1] < np_.exp(np_.minimum(sub["log_w"] - tree_["log_w"], 0.0)))
            new = dict(tree_)
            for k in ("z", "g", "p"):
                new[k] = np_.where(take[:, None], sub[k], tree_[k])
            new["lp"] = np_.where(take, sub["lp"], tree_["lp"])
            new["log_w"] = np_.where(ok, np_.logaddexp(tree_["log_w"], sub["log_w"]),
                                     tree_["log_w"])
            grown_right, grown_left = (ok & forward)[:, None], (ok & ~forward)[:, None]
            for k in "zpg":
                new[k + "r"] = np_.where(grown_right, sub[k + "_last"], tree_[k + "r"])
                new[k + "l"] = np_.where(grown_left, sub[k + "_last"], tree_[k + "l"])
            new["rho"] = np_.where(ok[:, None], tree_["rho"] + sub["rho"], tree_["rho"])
            # the merged tree is [left part, right part]; Stan checks it whole and across
            p_ll = np_.where(fwd, tree_["pl"], sub["p_last"])
            p_lr = np_.where(fwd, tree_["pr"], sub["p_first"])
            rho_l = np_.where(fwd, tree_["rho"], sub["rho"])
            p_rl = np_.where(fwd, sub["p_first"], tree_["pl"])
            p_rr = np_.where(fwd, sub["p_last"], tree_["pr"])
            rho_r = np_.where(fwd, sub["rho"], tree_["rho"])
            persists = (self._persists(p_ll, p_rr, rho_l + rho_r)
                        & self._persists(p_ll, p_rl, rho_l + p_rl)
                        & self._persists(p_lr, p_rr, rho_r + p_lr))
            new["go"] = ok & persists
            new["n"] = tree_["n"] + sub["n"]
            new["accept"] = tree_["accept"] + sub["accept"]
            new["divergent"] = tree_["divergent"] | (tree_["go"] & sub["divergent"])
            return depth + 1, new

        _, tree = B.while_loop(
            lambda depth, tree_: (depth < self.max_tree_depth) & np_.any(tree_["go"]),
            doubling, (B.convert(0), tree))
        n = np_.maximum(tree["n"], 1.0)
        accept = tree["accept"] / n
        energy = -tree["lp"] + 0.5 * np_.sum(tree["p"] ** 2, axis=-1)
        out = NUTSResults(tree["lp"], tree["g"], eps, np_.log(accept), tree["n"],
                          tree["divergent"], energy)
        return tree["z"], out

    def _subtree(self, depth: Any, start: dict, step: Any, h0: Any, active: Any,
                 seed: Any) -> dict:
        """``2**depth`` leapfrog steps from ``start`` (per-chain signed ``step``), for the
        ``active`` chains; stops a chain early at a divergence or a U-turn inside. The
        leaves of the transition are numbered (``2**depth - 1`` before this subtree's
        first), each drawing from its own stream of ``seed``."""
        B = self.B
        np_ = B.np
        size = 2**depth
        first_stream = _LEAF_STREAMS + size - 1
        zero = h0 * 0.0
        false = zero > 1.0
        slots = self.max_tree_depth + 1
        ckpt = np_.zeros((slots, *B.shape_of(start["p"])), dtype=start["p"].dtype)
        state = {"z_last": start["z"], "p_last": start["p"], "g_last": start["g"],
                 "z": start["z"], "lp": zero, "g": start["g"], "p": start["p"],
                 "p_first": start["p"], "log_w": zero - np_.inf, "rho": start["p"] * 0.0,
                 "n": zero, "accept": zero, "divergent": false, "turning": false,
                 "active": active, "ckpt_p": ckpt, "ckpt_rho": ckpt}
        slot_index = np_.arange(slots)

        def leaf(k: Any, st: dict) -> tuple:
            a = st["active"]
            p_half = st["p_last"] + 0.5 * step * st["g_last"]
            z1 = st["z_last"] + step * p_half
            lp1, g1 = evaluate_active(B, self.value_and_grad, z1, a)  # active_chains.py
            p1 = p_half + 0.5 * step * g1
            h1 = -lp1 + 0.5 * np_.sum(p1**2, axis=-1)
            h1 = np_.where(np_.isnan(h1), zero + np_.inf, h1)
            log_w_leaf = h0 - h1
            diverges = (h1 - h0) > self.max_energy_error
            new = dict(st)
            new["accept"] = st["accept"] + np_.where(a, np_.exp(np_.minimum(log_w_leaf, 0.0)),
                                                     zero)
            new["n"] = st["n"] + np_.where(a, zero + 1.0, zero)
            log_w = np_.logaddexp(st["log_w"], log_w_leaf)
            take = a & (self._uniform(h0, seed, first_stream + k) < np_.exp(log_w_leaf - log_w))
            for key, value in (("z", z1), ("g", g1), ("p", p1)):
                new[key] = np_.where(take[:, None], value, st[key])
            new["lp"] = np_.where(take, lp1, st["lp"])
            new["log_w"] = np_.where(a, log_w, st["log_w"])
            rho = np_.where(a[:, None], st["rho"] + p1, st["rho"])
            new["rho"] = rho
            new["p_first"] = np_.where((a & (k == 0))[:, None], p1, st["p_first"])
            # checkpoints: an even leaf opens spans, an odd leaf closes them
            idx_min, idx_max = self._checkpoints(k)
            even = self.B.np.bitwise_and(k, 1) == 0
            write = ((slot_index == idx_max) & even)[:, None, None] & a[None, :, None]
            new["ckpt_p"] = np_.where(write, p1[None], st["ckpt_p"])
            new["ckpt_rho"] = np_.where(write, rho[None], st["ckpt_rho"])
            span_rho = rho[None] - new["ckpt_rho"] + new["ckpt_p"]
            turned = ~self._persists(new["ckpt_p"], p1[None], span_rho)
            closes = (slot_index >= idx_min) & (slot_index <= idx_max) & ~even
            turning = a & np_.any(closes[:, None] & turned, axis=0)
            new["turning"] = st["turning"] | turning
            new["divergent"] = st["divergent"] | (a & diverges)
            for key, value in (("z_last", z1), ("p_last", p1), ("g_last", g1)):
                new[key] = np_.where(a[:, None], value, st[key])
            new["active"] = a & ~turning & ~diverges
            return k + 1, new

        _, state = B.while_loop(lambda k, st: (k < size) & np_.any(st["active"]), leaf,
                                (B.convert(0), state))
        return state
