"""An independent integer trainer written from ``docs/fixed-point.md`` alone (§2–7, §9).

Plain Python integers and lists, no torch and no code of ``golden/``: if the golden model's
draw order, lane seeds, rounding or update order drift from the document, the two disagree.
Only the initial weights are taken as given (§1 leaves their bits to torch).
"""

from __future__ import annotations

import math

MASK = (1 << 32) - 1


def xorshift(x: int) -> int:
    x ^= (x << 13) & MASK
    x ^= x >> 17
    x ^= (x << 5) & MASK
    return x


def seed_of(seed: int, lane: int) -> int:
    s = ((seed * 0x9E3779B1) ^ ((lane + 1) * 0x85EBCA77)) % (1 << 32)
    return s or 1


def rnd(v: int, m: int) -> int:
    """round(v, m) of §4."""
    return v * (1 << -m) if m <= 0 else (v + (1 << (m - 1))) >> m


def clamp(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


def pow2_rate(x: float) -> int:
    """The power of two nearest ``x`` in ratio (``x`` below ``2**e · √2`` gives ``2**e``); 0
    stays 0 (§1)."""
    if x == 0:
        return 0
    e = math.floor(math.log2(x))
    return 1 << (e + 1 if x >= 2 ** e * math.sqrt(2) else e)


class Reference:
    """One run: ``cfg`` is the config as a dict (``epfpga config show`` keys), ``weights`` the
    integer start ``{"W1": [[...]], "b1": [...], …}``."""

    def __init__(self, cfg: dict, weights: dict):
        fx = cfg["fixed"]
        self.sizes = cfg["sizes"]
        self.N = len(self.sizes) - 1
        self.fs, self.fx, self.fw = fx["state_frac"], fx["input_frac"], fx["weight_frac"]
        self.wb, self.fl = fx["weight_bits"], fx["lr_frac"]
        self.k = round(-math.log2(cfg["beta"]))
        self.B, self.P = cfg["batch"], cfg["lanes"]
        self.b_log2 = round(math.log2(self.B))
        self.act, self.nudge, self.est = cfg["activation"], cfg["nudge"], cfg["estimator"]
        self.t1, self.t2 = cfg["t1"], cfg["t2"]
        self.stochastic = fx["rounding"] == "stochastic"
        self.lr_q = [pow2_rate(lr * 2 ** self.fl) for lr in cfg["lrs"]]
        self.W = {k: [list(r) for r in v] if k[0] == "W" else list(v) for k, v in weights.items()}
        self.lanes = [seed_of(cfg["seed"], l) for l in range(self.P)]
        self.sign_state = seed_of(cfg["seed"], 0xFFFF)
        one = 1 << self.fs
        if self.act == "my_sigmoid":
            lut = {}
            for z in range(-16 * one, 17 * one):
                lut[z] = math.floor(one / (1.0 + math.exp(-4.0 * (z / one - 0.5))) + 0.5)
            self.z_lo = max(z for z, v in lut.items() if v == 0)
            self.z_hi = min(z for z, v in lut.items() if v == one)
            self.lut = lut

    # §4
    def rho(self, u: int) -> int:
        one = 1 << self.fs
        if self.act == "hard_sigmoid":
            return clamp(rnd(u, self.fw), 0, one)
        if self.act == "my_hard_sig":
            return clamp(rnd(u, self.fw + 1), 0, one)
        return self.lut[clamp(rnd(u, self.fw), self.z_lo, self.z_hi)]

    # §3, §5
    def step(self, q: list[list[int]], drive: list[int], sigma: int, label: int) -> list[list[int]]:
        one, new = 1 << self.fs, []
        for n in range(1, self.N + 1):
            W, b = self.W[f"W{n}"], self.W[f"b{n}"]
            layer = []
            for i in range(self.sizes[n]):
                u = drive[i] if n == 1 else sum(W[i][j] * q[n - 2][j] for j in range(self.sizes[n - 1])) + b[i] * one
                if n < self.N:
                    Wa = self.W[f"W{n + 1}"]
                    u += sum(Wa[k][i] * q[n][k] for k in range(self.sizes[n + 1]))
                if n == self.N and sigma:
                    e = sigma * ((one if i == label else 0) - q[n - 1][i])
                    if self.nudge == "inside":
                        layer.append(self.rho(u + e * 2 ** (self.fw - self.k)))
                    else:
                        layer.append(clamp(self.rho(u) + rnd(e, self.k), 0, one))
                else:
                    layer.append(self.rho(u))
            new.append(layer)
        return new

    # §6–7
    def round_block(self, v: list[list[int]], shift: int) -> list[list[int]]:
        if shift <= 0 or not self.stochastic:
            return [[rnd(x, shift) for x in row] for row in v]
        out = []
        for row in v:
            padded = -(-len(row) // self.P) * self.P
            new_row = []
            for j in range(padded):
                lane = j % self.P
                self.lanes[lane] = xorshift(self.lanes[lane])
                if j < len(row):
                    new_row.append((row[j] + (self.lanes[lane] >> (32 - shift))) >> shift)
            out.append(new_row)
        return out

    def train_batch(self, xq: list[list[int]], y: list[int]) -> dict:
        """§9 for one mini-batch of quantised inputs; returns states, predictions, sign."""
        N, one = self.N, 1 << self.fs
        rec = {"free": [], "plus": [], "minus": [], "pred": [], "sign": 1}
        if self.est == "random-sign":
            self.sign_state = xorshift(self.sign_state)
            rec["sign"] = 1 if self.sign_state >> 31 else -1
        sigma = rec["sign"]
        ends = {"a": [], "b": []}
        for s in range(self.B):
            W1, b1 = self.W["W1"], self.W["b1"]
            drive = [sum(W1[i][j] * xq[s][j] for j in range(self.sizes[0])) * 2 ** (self.fs - self.fx)
                     + b1[i] * one for i in range(self.sizes[1])]
            q = [[0] * n for n in self.sizes[1:]]
            free = []
            for _ in range(self.t1):
                q = self.step(q, drive, 0, y[s])
                free.append(q)
            star = q
            top = star[-1]
            rec["pred"].append(top.index(max(top)))
            plus, q = [], star
            for _ in range(self.t2):
                q = self.step(q, drive, sigma, y[s])
                plus.append(q)
            rec["free"].append(free)
            rec["plus"].append(plus)
            ends["b"].append(q)
            if self.est == "symmetric":
                minus, q = [], star
                for _ in range(self.t2):
                    q = self.step(q, drive, -1, y[s])
                    minus.append(q)
                rec["minus"].append(minus)
                ends["a"].append(q)
            else:
                ends["a"].append(star)
        c_log2 = 1 if self.est == "symmetric" else 0
        for n in range(1, N + 1):
            rows, cols = self.sizes[n], self.sizes[n - 1]
            pre_frac = self.fx if n == 1 else self.fs
            D = [[0] * cols for _ in range(rows)]
            Db = [0] * rows
            for s in range(self.B):
                qa, qb = ends["a"][s][n - 1], ends["b"][s][n - 1]
                pa = xq[s] if n == 1 else ends["a"][s][n - 2]
                pb = xq[s] if n == 1 else ends["b"][s][n - 2]
                for i in range(rows):
                    Db[i] += qb[i] - qa[i]
                    for j in range(cols):
                        D[i][j] += qb[i] * pb[j] - qa[i] * pa[j]
            for name, block, frac in ((f"W{n}", D, self.fs + pre_frac), (f"b{n}", [Db], self.fs)):
                S = self.fl + c_log2 + self.b_log2 - self.k + frac - self.fw
                v = [[sigma * d * self.lr_q[n - 1] for d in row] for row in block]
                dw = self.round_block(v, S)
                lo, hi = -(1 << (self.wb - 1)), (1 << (self.wb - 1)) - 1
                if name[0] == "W":
                    self.W[name] = [[clamp(w + d, lo, hi) for w, d in zip(wr, dr)] for wr, dr in zip(self.W[name], dw)]
                else:
                    self.W[name] = [clamp(w + d, lo, hi) for w, d in zip(self.W[name], dw[0])]
        return rec
