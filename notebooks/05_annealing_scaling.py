# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Annealing: time to solution vs N
#
# Simulated annealing samples $e^{-\beta E(W)}$ with $\beta$ growing; $E$ is the minimum number of
# weight flips that fix every pattern (PNAS 113, E7655 (2016), eq. 9). Since typical solutions are
# isolated, equilibrium-like dynamics should get trapped: the time to reach a solution of a random
# perceptron grows exponentially with $N$ for standard SA. Three chains, each a strictly
# sequential Metropolis dynamics (`physlearn.algorithms.replicated_sa.solve`, `quantum_sa.solve`):
#
# * **standard SA**: $y=3$ independent annealings from the same start (stopped when one solves);
# * **replicated SA** (PNAS 2016 sec. IV, appendix B): the same $y=3$ replicas coupled through
#   their traced-out centre, $H=\sum_aE(W^a)-\frac1\beta\sum_i\log2\cosh(\gamma\sum_aW^a_i)$, with
#   $\gamma$ growing (scoping). The coupling samples the local-entropy measure and drives the
#   chain to the dense regions: time polynomial in $N$ (Fig. 2);
# * **quantum SA** (Baldassi & Zecchina, PNAS 115, 1457 (2018)): Suzuki–Trotter slices on a ring
#   at fixed $\beta$, transverse field $\Gamma\to0$ — the slices play the replicas' role (Fig. 7
#   compares it with the classical chains).
#
# Time to solution = attempted single-spin moves of the whole chain until some replica has zero
# energy; per instance the minimum over a small grid of schedules (the paper's procedure), then
# the median over instances. Standard SA is the replicated chain at $\gamma=0$ (the same move
# rule), so both run as points of one hyper-parameter batch. Fits: power law $t=e^aN^b$ and
# exponential $t=e^ae^{cN}$ in log scale.
#
# Size switch: `PHYSLEARN_SIZE=paper` for α = 0.5, N up to 801, 16 instances, 3 schedules per kind
# and a 1e7-move budget (an accelerator runs the chains in parallel); the default small size
# (α = 0.65 where the separation appears at small N, N = 51, 101, 151, 8 instances) is a
# smoke-size run.

# %%
import os
import time

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from physlearn import plotting  # noqa: E402
from physlearn.algorithms import annealing, problems, quantum_sa, replicated_sa, schedules  # noqa: E402

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
PAPER = SIZE == "paper"
OUT = plotting.output_dir(globals().get("__file__"))  # $PHYSLEARN_NOTEBOOK_OUT, else notebooks/output/ (git-ignored)
ALPHA = 0.5 if PAPER else 0.65
NS = [51, 101, 201, 301, 401, 501, 651, 801] if PAPER else [51, 101, 151]
SAMPLES = 16 if PAPER else 8
MAX_MOVES = 10_000_000 if PAPER else 400_000
# schedule grids (beta0, gamma0) for the classical chain: replicated points, then standard (gamma = 0)
REP = [(1.0, 0.75), (1.0, 1.0), (1.0, 1.5)] if PAPER else [(1.0, 0.75), (1.0, 1.0)]
STD = [(1.5, 0.0), (2.0, 0.0), (3.0, 0.0)] if PAPER else [(1.5, 0.0), (2.0, 0.0)]
QSA = [(4.0, 0.3), (6.0, 0.3), (6.0, 0.5)] if PAPER else [(6.0, 0.3)]  # (beta, field0)

# %% [markdown]
# ## Runs

# %%
grid = np.array(REP + STD)
t_med = {"replicated SA (y=3)": [], "standard SA (y=3)": [], "quantum SA (y=4 slices)": []}
solved_all = {k: [] for k in t_med}


for n in NS:
    t0 = time.perf_counter()
    prob = problems.random_patterns(jax.random.key(n), n, ALPHA, samples=SAMPLES)
    r = replicated_sa.solve(jax.random.key(1), prob, replicas=3, beta=schedules.exponential(grid[:, 0], 1.01),
                            gamma=schedules.exponential(grid[:, 1], np.where(grid[:, 1] > 0, 1.01, 1.0)),
                            max_steps=MAX_MOVES, moves_per_step=5000)
    q = np.array(QSA)
    rq = quantum_sa.solve(jax.random.key(2), prob, replicas=4, beta=q[:, 0],
                          field=schedules.exponential(q[:, 1], 1 / 1.01), max_steps=MAX_MOVES, moves_per_step=5000)
    # per instance, the best schedule of each kind (inf: unsolved)
    for name, best in (("replicated SA (y=3)", annealing.moves_to_solution(r, slice(0, len(REP)))),
                       ("standard SA (y=3)", annealing.moves_to_solution(r, slice(len(REP), None))),
                       ("quantum SA (y=4 slices)", annealing.moves_to_solution(rq))):
        t_med[name].append(float(np.median(best)))
        solved_all[name].append(int(np.isfinite(best).sum()))
    print(f"N={n}: " + ", ".join(f"{k} median {v[-1]:.3g} ({solved_all[k][-1]}/{SAMPLES} solved)"
                                 for k, v in t_med.items()) + f"  [{time.perf_counter() - t0:.0f} s]")


# %% [markdown]
# ## Fits

# %%
fits = {}  # annealing.scaling_fits: least squares of log t on log N (power law) and on N (exponential)
for name, t in t_med.items():
    if np.isfinite(t).sum() >= 2:
        fits[name] = annealing.scaling_fits(NS, t)
        _, bp, rp = fits[name]["power"]
        _, ce, re_ = fits[name]["exp"]
        print(f"{name}: power law b = {bp:.2f} (RMS {rp:.3f} dec), exponential c = {ce:.4f} (RMS {re_:.3f} dec)")

# %% [markdown]
# ## Figure

# %%
fig, ax = plotting.figure(f"Time to solution, binary perceptron α = {ALPHA}", "number of weights N",
                          "attempted moves to a solution (median)")
nn = np.linspace(min(NS), max(NS), 100)
for j, (name, t) in enumerate(t_med.items()):
    c = f"C{j}"
    plotting.data_points(ax, NS, t, f"{name}, {SAMPLES} instances", color=c, marker="osD"[j])
    if name in fits:
        ap, bp, _ = fits[name]["power"]
        ae, ce, _ = fits[name]["exp"]
        ax.plot(nn, np.exp(ap) * nn**bp, "-", color=c, lw=0.9, label=f"power-law fit, b = {bp:.2f}")
        ax.plot(nn, np.exp(ae + ce * nn), ":", color=c, lw=0.9, label=f"exponential fit, c = {ce:.3f}")
ax.set_yscale("log")
ax.set_xscale("log")
ax.legend(fontsize=7)
plotting.show(fig, OUT / "nb5_annealing_scaling.png")
plt.close("all")

# %% [markdown]
# ## What this shows (asserted)
#
# * replicated SA solves every instance, and its time to solution grows more slowly with N than
#   standard SA's (larger log-log slope for standard SA, and a standard/replicated ratio that
#   grows with N, beyond 2 at the largest N);
# * quantum SA (Trotter slices as replicas) solves every instance too and stays within a factor
#   of a few of replicated SA.

# %%
rep, std, qsa = (np.array(t_med[k]) for k in t_med)
ratio = std / rep
print("standard / replicated median ratio by N:", dict(zip(NS, np.round(ratio, 2))))
assert all(s == SAMPLES for s in solved_all["replicated SA (y=3)"]), solved_all
assert all(s == SAMPLES for s in solved_all["quantum SA (y=4 slices)"]), solved_all
b_rep = fits["replicated SA (y=3)"]["power"][1]
b_std = annealing.scaling_fits(NS, std)["power"][1] if np.all(np.isfinite(std)) else np.inf  # censored: exponential-like
assert b_std > b_rep, (b_std, b_rep)
assert ratio[-1] > 2 and ratio[-1] > ratio[0], ratio
assert np.all(qsa / rep < 5), qsa / rep
