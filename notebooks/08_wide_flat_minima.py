# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 8. Wide flat minima in continuous networks
#
# Baldassi, Pittorino & Zecchina (PNAS 117, 161 (2020); C. Baldassi's IPAM 2019 talk) carry the
# robust-ensemble story from binary to continuous weights. This notebook reproduces its parts with
# physlearn:
#
# 1. **Theory** (`physlearn.theory.flat_minima`): the normalised local volume of the solutions of
#    a tree committee machine (continuous weights, K hidden units) at distance $d$ from a
#    reference -- a typical solution (Franz--Parisi) or the centre of the densest region (the 1RSB
#    free entropy at fixed $q_1$, $y\to\infty$, no energy on the reference). K = 1 is the spherical
#    perceptron, $K=\infty$ the $\frac2\pi\arcsin$ form; the parity machine stays flat at
#    $-\alpha\log2$: it has no wide flat minima.
# 2. **BP for continuous weights** (`physlearn.algorithms.continuous_bp`): Gaussian messages, a
#    self-adjusting norm field, and the weight enumerator that measures the local volume around
#    any given network -- checked against direct Monte Carlo on small planted instances.
# 3. **The experiment**: tree committee, $K=9$, $\alpha=1$, random patterns; fBP (continuous),
#    LAL, eLAL, ceSGD-fast and ceSGD-slow; the BP local volume around each solution, the top
#    Hessian eigenvalue, and their correlation (`physlearn.algorithms.wide_flat_minima`).
# 4. **The cross-entropy loss** (`physlearn.theory.cross_entropy`): where the minimisers of
#    $f_\gamma(x) = -x/2 + \log(2\cosh\gamma x)/(2\gamma)$ sit on the binary perceptron, compared
#    with the robust-ensemble (densest-region) curve, and the optimal $\gamma$.
# 5. **Real data**: a reduced binarised two-class task with a fully connected committee machine
#    ($K=9$): Fashion-MNIST dress vs coat when the IDX files are given
#    (`PHYSLEARN_FASHION_MNIST=/path/to/dir`), the bundled 8x8 digits otherwise; test errors.
#
# Size switch: `PHYSLEARN_SIZE=paper` for the paper's sizes (long; the numbers are recorded in
# `docs/experiments/wide_flat_minima.md`, produced by `benchmarks/wide_flat_minima.py`).

# %%
import math
import os
import time

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
if SIZE != "paper" and "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from physlearn import plotting  # noqa: E402
from physlearn.algorithms import continuous_bp as cbp  # noqa: E402
from physlearn.algorithms import problems  # noqa: E402
from physlearn.algorithms import wide_flat_minima as wfm  # noqa: E402
from physlearn.theory import cross_entropy as ce  # noqa: E402
from physlearn.theory import flat_minima as fm  # noqa: E402
from physlearn.theory import franz_parisi as fp  # noqa: E402
from physlearn.theory import gardner  # noqa: E402
from physlearn.theory import local_entropy  # noqa: E402

jax.config.update("jax_enable_x64", True)  # BP volumes in float64; the trainers keep float32
OUT = os.environ.get("PHYSLEARN_NOTEBOOK_OUT", ".")
PAPER = SIZE == "paper"
SAMPLES_QMC = 2**13 if PAPER else 2**10
T0 = time.perf_counter()

# %% [markdown]
# ## 1. Local volume of tree committee machines: theory
#
# At load $\alpha=1$, the normalised local volume (log-fraction per weight of the ring at distance
# $d$ that is solutions) around typical solutions and around the densest regions, for K = 1, 3
# (and 5, 9 at paper size) and $K\to\infty$. K = 1 must reproduce
# `franz_parisi.spherical` (typical reference) and `gardner.spherical_rs`; finite K > 1 is
# integrated by randomised quasi Monte Carlo (error bars from 8 randomisations).

# %%
ALPHA = 1.0
D = np.geomspace(0.004, 0.1, 14 if PAPER else 6)
KS = (1, 3, 5, 9, math.inf) if PAPER else (1, 3, math.inf)
dense, typical = {}, {}
for K in KS:
    dense[K] = fm.local_volume(ALPHA, D, K=K, samples=SAMPLES_QMC, on_failure="flag")
    typical[K] = fm.local_volume(ALPHA, D, K=K, reference="typical", samples=SAMPLES_QMC, on_failure="flag")
    print(f"K = {K}: dense {np.round(dense[K].normalized, 4)}  (mc error <= {np.nanmax(dense[K].mc_error):.1e})")
    print(f"       typical {np.round(typical[K].normalized, 4)}")

sph = fp.spherical(ALPHA, D)
gap_fp = np.max(np.abs(typical[1].entropy - sph.entropy))
gap_rs = abs(float(fm.gardner(ALPHA).entropy - gardner.spherical_rs(ALPHA).entropy))
print(f"K = 1 vs franz_parisi.spherical: max |difference| = {gap_fp:.1e}; Gardner volume: {gap_rs:.1e}")
assert gap_fp < 1e-8 and gap_rs < 1e-8
for K in KS:
    ok = dense[K].converged & typical[K].converged
    assert ok.all(), K
    # the densest regions are denser than typical ones; wide flat minima: ~0 at small d
    assert np.all(dense[K].normalized >= typical[K].normalized - 3 * (dense[K].mc_error + typical[K].mc_error))
    assert np.all(dense[K].normalized <= 1e-12)

# %% [markdown]
# **Parity machines.** Replacing the committee vote by the product of the hidden signs, the
# outputs of replicas at any overlap below 1 decorrelate as $K$ grows, and the normalised volume
# is $-\alpha\log2$ at every distance: a random set of solutions, no wide flat minima. For finite
# K the curves are flat there too wherever the hidden fields are not pinned (larger $d$).

# %%
par_inf = fm.local_volume(ALPHA, D, K=math.inf, machine="parity")
np.testing.assert_allclose(par_inf.normalized, -ALPHA * math.log(2), atol=1e-12)
D_PAR = np.array([0.03, 0.1, 0.2, 0.3])
par3 = fm.local_volume(ALPHA, D_PAR, K=3, machine="parity", samples=SAMPLES_QMC, on_failure="flag")
print("parity K = 3, dense reference:", np.round(par3.normalized, 4), "vs -alpha log 2 =", round(-ALPHA * math.log(2), 4))

fig, ax = plt.subplots(1, 2, figsize=(10, 4))
for K in KS:
    lab = "K = inf" if math.isinf(K) else f"K = {K}"
    ax[0].plot(D, dense[K].normalized, "-o", ms=3, label=lab)
    ax[1].plot(D, typical[K].normalized, "-o", ms=3, label=lab)
for a, title in zip(ax, ("densest regions (y -> inf)", "typical solutions (Franz-Parisi)")):
    a.plot(D, par_inf.normalized, "k--", label="parity, K = inf")
    a.set_xscale("log")
    a.set_xlabel("distance d")
    a.set_title(title)
ax[0].plot(D_PAR, par3.normalized, "k:s", ms=3, label="parity, K = 3")
ax[0].set_ylabel(r"normalised local volume, $\alpha = 1$")
ax[0].legend(fontsize=8)
plotting.save(fig, os.path.join(OUT, "nb8_theory_local_volume.png"))

# %% [markdown]
# ## 2. BP local volume against Monte Carlo on small planted instances
#
# A teacher with Gaussian weights labels random $\pm1$ patterns; around it, BP with the
# enumerator field gives the normalised volume at distance $d$, and direct sampling of the ring
# $\{W_k = p\tilde W_k + \sqrt{1-p^2}\,\varepsilon_k\}$ counts the fraction that are solutions
# (exact at any size, with binomial error bars). BP is exact only as $n\to\infty$.

# %%
CASES = [(29, 1, 0.5, 0.05), (29, 1, 0.5, 0.15), (11, 3, 0.3, 0.1)]
INST = 12 if PAPER else 6
rows = []
fig, ax = plt.subplots(figsize=(4.5, 4.5))
for n, K, a, d in CASES:
    arch = "perceptron" if K == 1 else "tree"
    prob, teacher = cbp.planted(jax.random.key(7), n, a, K, arch, samples=INST)
    bp = cbp.local_volume(jax.random.key(1), prob, teacher, d)
    mc = cbp.monte_carlo_volume(jax.random.key(2), prob, teacher, d, draws=200_000 if PAPER else 40_000)
    diff = np.asarray(bp.normalized) - np.asarray(mc.normalized)
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    rows.append((n, K, a, d, float(np.mean(mc.normalized)), float(np.mean(mc.stderr)), float(diff.mean()), se))
    ax.errorbar(mc.normalized, bp.normalized, xerr=mc.stderr, fmt="o", ms=3, label=f"n={n}, K={K}, d={d}")
    assert bp.converged.all()
    assert np.all(np.abs(diff) < 0.01), diff
print("n   K  alpha  d     MC volume  MC error  BP - MC (mean, s.e.)")
for r in rows:
    print(f"{r[0]:<3d} {r[1]}  {r[2]:.1f}    {r[3]:.2f}  {r[4]:+.4f}    {r[5]:.4f}    {r[6]:+.4f} ({r[7]:.4f})")
lo = min(r[4] for r in rows) - 0.02
ax.plot([lo, 0], [lo, 0], "k:")
ax.set_xlabel("Monte Carlo normalised volume")
ax.set_ylabel("BP normalised volume")
ax.legend(fontsize=7)
plotting.save(fig, os.path.join(OUT, "nb8_bp_vs_monte_carlo.png"))

# %% [markdown]
# At these sizes BP is a few $10^{-3}$ per weight above the exact volume (larger for the
# committee, $n = 11$ per unit): the Gaussian messages and the central-limit fields are
# $O(1/n)$ approximations. The instance-to-instance ranking is the same.

# %% [markdown]
# ## 3. Tree committee, $K=9$, $\alpha=1$: which algorithms find wide flat minima?
#
# The same random instances go to five algorithms with continuous weights; around every
# solution, the BP normalised volume at two distances and the top eigenvalue of the Hessian of
# the (smooth) ceSGD loss at $\beta=\gamma=1$.

# %%
K9, N9 = 9, (111 if PAPER else 11)
S9 = 10 if PAPER else 4
DIST = (0.01, 0.03)
prob9 = problems.random_patterns(jax.random.key(2020), N9, ALPHA, K9, "tree", samples=S9)
t = time.perf_counter()
res9 = wfm.compare(jax.random.key(1), prob9, DIST, max_epochs=1000 if PAPER else 300,
                   fbp_steps=3000 if PAPER else 1000, density=PAPER)
print(f"K = 9, n = {N9}, M = {prob9.m}, {S9} instances ({time.perf_counter() - t:.0f} s)")
print(wfm.markdown_table(res9, DIST))
pear, spear, npts = wfm.correlation(res9, which=1)
print(f"volume at d = {DIST[1]} vs top Hessian eigenvalue: Pearson {pear:+.2f}, Spearman {spear:+.2f} ({npts} minima)")

vol_mean = {k: np.nanmean(r["volume"][:, 1]) for k, r in res9.items()}
order = sorted(vol_mean, key=lambda k: -vol_mean[k] if np.isfinite(vol_mean[k]) else np.inf)
widest3 = set(order[:3])
claim = {"LAL narrowest": order[-1] == "LAL", "fBP, eLAL, ceSGD-slow widest": widest3 == {"fBP", "eLAL", "ceSGD-slow"}}
print("ordering by volume at d = %g (widest first): %s" % (DIST[1], " > ".join(order)))
for c, v in claim.items():
    print(f"  talk's claim '{c}': {'confirmed' if v else 'contradicted'}")
for r in res9.values():
    assert np.all(r["trained"].errors[r["trained"].solved] == 0)

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 4))
for name, r in res9.items():
    v = r["volume"]
    m = np.nanmean(v, axis=0)
    ax[0].errorbar(DIST, m, yerr=np.nanstd(v, axis=0) / np.sqrt(np.maximum(np.sum(np.isfinite(v), 0), 1)), fmt="-o",
                   ms=4, capsize=3, label=name)
    ax[1].plot(r["top_eigenvalue"], v[:, 1], "o", ms=4, label=name)
kref = 9 if PAPER else math.inf
dd = D[D <= 0.04]
ax[0].plot(dd, dense[kref].normalized[: dd.size], "k--", label=f"theory, densest (K = {'inf' if math.isinf(kref) else kref})")
ax[0].plot(dd, typical[kref].normalized[: dd.size], "k:", label="theory, typical")
ax[0].set_xlabel("distance d")
ax[0].set_ylabel("BP normalised local volume")
ax[0].legend(fontsize=7)
ax[1].set_xlabel(r"top Hessian eigenvalue (ceSGD loss, $\beta=\gamma=1$)")
ax[1].set_ylabel(f"normalised volume at d = {DIST[1]}")
ax[1].set_title(f"Pearson {pear:+.2f}, Spearman {spear:+.2f}")
plotting.save(fig, os.path.join(OUT, "nb8_committee_k9.png"))
if PAPER:
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, r in res9.items():
        sd = r["densities"][0]
        ax.semilogy(np.asarray(sd.grid), np.maximum(np.asarray(sd.density), 1e-6), label=name)
    ax.set_xlabel("Hessian eigenvalue")
    ax.set_ylabel("spectral density (instance 0)")
    ax.legend(fontsize=7)
    plotting.save(fig, os.path.join(OUT, "nb8_hessian_density.png"))

# %% [markdown]
# ## 4. The cross-entropy loss on the binary perceptron
#
# The zero-temperature replica computation for the minimiser of $\sum_\mu f_\gamma(\Delta^\mu)$
# over binary weights: its training error, and the local entropy of the solutions around it,
# against the densest-region (robust-ensemble, $y\to\infty$) curve and around typical solutions.

# %%
A_CE = 0.6
GAMMAS = np.array([0.3, 1.0, 3.0, 10.0])
D_CE = np.geomspace(0.005, 0.15, 10 if PAPER else 5)
g_grid = np.geomspace(0.1, 30, 30 if PAPER else 12)
mini = ce.minimizer(A_CE, g_grid)
le_ce = ce.local_entropy(A_CE, GAMMAS, D_CE, on_failure="flag")
le_re = local_entropy.binary(A_CE, D_CE, on_failure="flag")
le_typ = fp.binary(A_CE, D_CE, on_failure="flag")
for g, v in zip(GAMMAS, le_ce.entropy):
    print(f"gamma = {g:5.1f}: V(d) - H2(d) = {np.round(v - le_ce.h2[0], 4)}")
print("robust ensemble:       ", np.round(le_re.entropy - le_ce.h2[0], 4))
print("typical (Franz-Parisi):", np.round(le_typ.entropy - le_ce.h2[0], 4))
best = ce.optimal_gamma(A_CE, 0.02, np.geomspace(0.3, 30, 12))
print(f"optimal gamma at d = 0.02: {best.gamma:.3g} (V = {best.entropy:.5f})")
ok = np.isfinite(le_ce.entropy) & np.isfinite(le_re.entropy)[None]
assert np.all(le_ce.entropy[ok] <= np.broadcast_to(le_re.entropy, le_ce.entropy.shape)[ok] + 1e-7)
assert np.all(le_ce.entropy[np.isfinite(le_ce.entropy)] <= np.broadcast_to(le_ce.h2, le_ce.entropy.shape)[np.isfinite(le_ce.entropy)])

fig, ax = plt.subplots(1, 2, figsize=(10, 4))
ax[0].semilogx(g_grid, mini.errors, "-o", ms=3)
ax[0].set_xlabel(r"$\gamma$")
ax[0].set_ylabel("training error of the CE minimiser")
for g, v in zip(GAMMAS, le_ce.entropy):
    ax[1].plot(D_CE, v - le_ce.h2[0], "-o", ms=3, label=rf"CE minimiser, $\gamma$ = {g:g}")
ax[1].plot(D_CE, le_re.entropy - le_ce.h2[0], "k--", label="densest (robust ensemble)")
ax[1].plot(D_CE, le_typ.entropy - le_ce.h2[0], "k:", label="typical solutions")
ax[1].set_xscale("log")
ax[1].set_xlabel("distance d")
ax[1].set_ylabel(r"local entropy $-\ H_2(d)$, $\alpha$ = %g" % A_CE)
ax[1].legend(fontsize=7)
plotting.save(fig, os.path.join(OUT, "nb8_cross_entropy.png"))

# %% [markdown]
# ## 5. Real data: reduced binarised two-class task, fully connected committee ($K=9$)
#
# Fashion-MNIST dress (3) vs coat (4), 250 training images per class, pixels binarised, when
# `PHYSLEARN_FASHION_MNIST` names a folder with the four IDX files; otherwise the 8x8 digits 3 vs
# 5 bundled with scikit-learn. Four algorithms (no fBP: correlated patterns), the BP volume,
# the top Hessian eigenvalue and the test error.

# %%
fm_dir = os.environ.get("PHYSLEARN_FASHION_MNIST")
if fm_dir:
    train_all, test = problems.mnist(fm_dir, binarize=True, classes=(3, 4), architecture="committee", k=9)
    lab = np.asarray(train_all.labels)
    keep = np.concatenate([np.flatnonzero(lab == 1)[:250], np.flatnonzero(lab == -1)[:250]])
    train = problems.Problem(np.asarray(train_all.inputs)[keep], lab[keep], architecture="committee", k=9)
    task = "Fashion-MNIST dress vs coat"
else:
    train, test = problems.digits(binarize=True, classes=(3, 5), test_fraction=0.3, architecture="committee", k=9)
    task = "digits 3 vs 5 (8x8)"
REPS = 4 if PAPER else 2
batch = problems.Problem(np.stack([np.asarray(train.inputs)] * REPS), np.stack([np.asarray(train.labels)] * REPS),
                         architecture="committee", k=9)
t = time.perf_counter()
res_real = wfm.compare(jax.random.key(3), batch, DIST, algorithms=("LAL", "eLAL", "ceSGD-fast", "ceSGD-slow"),
                       max_epochs=1000 if PAPER else 300, test=test)
print(f"{task}: {train.m} training patterns, n = {train.n}, {test.m} test patterns ({time.perf_counter() - t:.0f} s)")
print(wfm.markdown_table(res_real, DIST))

# %% [markdown]
# **Summary.** Printed above: the K = 1 reduction (to $10^{-8}$ or better), the parity machine's
# flat $-\alpha\log2$, the BP/Monte Carlo agreement and its finite-size bias, the algorithm
# ordering of the talk (confirmed or contradicted, claim by claim) and the correlation of the
# volume with the Hessian. Paper-size numbers: `docs/experiments/wide_flat_minima.md`.

# %%
print(f"notebook 08 done in {time.perf_counter() - T0:.0f} s ({SIZE} size)")
