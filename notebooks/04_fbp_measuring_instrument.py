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
# # 4. Focusing BP as a measuring instrument
#
# Focusing BP (Baldassi et al., PNAS 113, E7655 (2016), sec. VI and appendix D) is belief
# propagation on the *robust ensemble*
#
# $$Z(\gamma,y)=\sum_{\tilde W}\prod_{a=1}^{y}\sum_{W^a}\mathbb X(W^a)\,e^{\gamma\,\tilde W\cdot W^a},$$
#
# $y$ real replicas of the perceptron coupled with strength $\gamma$ to a reference $\tilde W$ that
# is traced out ($\mathbb X$ = every pattern classified). At a fixed point its Bethe free entropy
# measures, on one instance, what the replica theory predicts on average: the replica–reference
# overlap $S$ (distance $d=(1-S)/2$), the *internal* local entropy
# $\Sigma_{\rm int}=\partial_y\Phi-\gamma S$ (log-number per weight of solutions at distance $d$
# around the selected references) and the overlap $q=\langle m_W^2\rangle$ of the marginals.
#
# Theory: the finite-$y$ RS large-deviation measure at fixed coupling,
# `physlearn.theory.local_entropy.fixed_coupling(alpha, gamma, y)` (free reference), with
# $\Sigma_{\rm int}(\gamma)$, $d(\gamma)$ and the overlaps $q_0$ (replicas around different
# references, $=\mathbb E\langle W_i\rangle^2$, what $\langle m_W^2\rangle$ estimates) and $q_1$
# (around the same reference). As $\gamma$ grows the measure focuses on denser, smaller regions:
# $d$ shrinks and $\Sigma_{\rm int}(d)$ follows the theory curve (PNAS 2016 Figs. 5, 6 and 11).
#
# Protocol: scoping at fixed $y$ — $\gamma$ increases step by step, BP is iterated to
# convergence at each step (warm start from the previous one), in float64.
#
# Size switch: `PHYSLEARN_SIZE=paper` for N = 1001, 8 instances, 10 values of γ and a dense
# theory curve; the default small size (N = 201, 2 instances, 5 values of γ) is a smoke-size run.

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

jax.config.update("jax_enable_x64", True)

from physlearn import plotting  # noqa: E402
from physlearn.algorithms import fbp, problems, schedules  # noqa: E402
from physlearn.theory import franz_parisi as fp  # noqa: E402
from physlearn.theory import local_entropy as le  # noqa: E402

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
PAPER = SIZE == "paper"
OUT = plotting.output_dir(globals().get("__file__"))  # $PHYSLEARN_NOTEBOOK_OUT, else notebooks/output/ (git-ignored)
ALPHA, Y = 0.6, 5.0
N = 1001 if PAPER else 201
SAMPLES = 8 if PAPER else 2
GAMMAS = np.round(np.linspace(0.1, 1.0, 10), 3) if PAPER else np.array([0.1, 0.25, 0.4, 0.55, 0.7])
SWEEPS = 1000 if PAPER else 300  # BP sweeps per value of gamma at most
TH_NODES = {} if PAPER else dict(n=24, n_in=12)  # reduced quadrature at the small size

# %% [markdown]
# ## Focusing BP along the scoping protocol

# %%
prob = problems.random_patterns(jax.random.key(60), N, ALPHA, samples=SAMPLES)
res = fbp.solve(jax.random.key(2), prob, gamma=schedules.table(GAMMAS), y=Y, sweeps_per_step=SWEEPS, epsilon=1e-5,
                stop="never", trace=True, dtype=jnp.float64)
tr = res.trace  # per step, axes (sample, gamma)
d_bp = np.asarray(tr.distance)
s_bp = np.asarray(tr.local_entropy)
q_bp = np.asarray(tr.q)
conv = np.asarray(tr.converged)
print("BP converged (instances x gamma):\n", conv.astype(int))

# %% [markdown]
# ## RS theory at the same $(\alpha, y)$
#
# `fixed_coupling` at the measured γ's (and, at paper size, on a dense γ grid for the curve).
# Points where the RS solution does not exist (large $\gamma y$ pushes $q_1\to1$) or has a
# negative external entropy are dropped.

# %%
g_line = np.linspace(0.05, 1.0, 40) if PAPER else GAMMAS
th = le.fixed_coupling(ALPHA, g_line, Y, on_failure="flag", **TH_NODES)
th_ok = np.asarray(th.converged) & np.asarray(th.external_ok)
d_th, s_th = np.asarray(th.d)[th_ok], np.asarray(th.internal_entropy)[th_ok]
q0_th, q1_th, g_th = np.asarray(th.q0)[th_ok], np.asarray(th.q1)[th_ok], g_line[th_ok]
order = np.argsort(d_th)


def theory_at_d(d):
    """RS Sigma_int interpolated at the distance fBP measured."""
    return np.interp(d, d_th[order], s_th[order], left=np.nan, right=np.nan)


def theory_at_gamma(g, val):
    return np.interp(g, g_th, val, left=np.nan, right=np.nan)


# fBP minus RS at the distance fBP measured, per coupling: mean over the instances where BP converged
gap_all = s_bp - theory_at_d(d_bp)
good = conv & np.isfinite(gap_all)
n_good = good.sum(axis=0)
gap_mean = np.array([gap_all[good[:, j], j].mean() if n_good[j] else np.nan for j in range(GAMMAS.size)])
d_mean = d_bp.mean(axis=0)
for j, g in enumerate(GAMMAS):
    print(f"gamma={g:.2f}: fBP d={d_mean[j]:.4f} Sigma_int={s_bp[:, j].mean():.4f} q={q_bp[:, j].mean():.3f}"
          f" | RS Sigma_int(d)={float(theory_at_d(d_mean[j])):.4f} q0={theory_at_gamma(g, q0_th):.3f}"
          f" q1={theory_at_gamma(g, q1_th):.3f} | fBP - RS over {n_good[j]} converged: {gap_mean[j]:+.4f}")

# %% [markdown]
# ## 1RSB theory
#
# PNAS 2016 (appendix D.3, Fig. 11) compares fBP at fixed $y$ with the RS theory and with a 1RSB
# curve. The paper says it has 1RSB results for a single case only, and that the fBP curve moves
# towards the 1RSB one as $y$ grows. physlearn's 1RSB, `local_entropy.binary(..., rsb="1rsb")`, is
# the $y=\infty$ ansatz in which the replicas around each reference form groups of $m$. At every
# point solved in notebook 02 it collapses onto RS, so it gives no separate curve here. The finite-$y$
# 1RSB functional at fixed coupling, `local_entropy.fixed_coupling(..., rsb="1rsb", m=...)` (groups of
# $m$ replicas around each reference, overlaps $q_0\le q_b\le q_c$), searched from a nearly frozen
# intra-group start, also returns to RS at this $(\alpha, y)$ for $\gamma\in[0.25, 0.7]$ and
# $m\in[2, 4.5]$ (test `test_finite_y_1rsb_collapses_onto_rs_at_notebook_parameters`), so in
# physlearn's ansatz the 1RSB curve of PNAS Fig. 11 coincides with the RS one here; at paper size the
# search is repeated at the measured couplings below. The figure compares fBP with RS.

# %%
if PAPER:  # ~2 minutes on 2 CPU cores (three nested integrals per point)
    one_rsb = le.fixed_coupling(ALPHA, GAMMAS[:, None], Y, rsb="1rsb", m=np.array([2.0, 3.0, 4.0]), on_failure="flag")
    collapsed = np.asarray(one_rsb.collapsed)
    rs_exists = np.asarray(le.fixed_coupling(ALPHA, GAMMAS, Y, on_failure="flag").converged)
    print("1RSB search collapsed onto RS (gamma x m):\n", collapsed.astype(int))
    print("RS saddle exists at gamma:", GAMMAS[rs_exists])

# %% [markdown]
# ## Figures

# %%
fig, ax = plotting.figure(f"Local entropy at fixed y = {Y:g}, α = {ALPHA}, γ growing", "distance d = (1 − S)/2",
                          r"local entropy $\Sigma_{\rm int}$ (nats per weight)")
dd = np.linspace(1e-3, 0.4, 200)
plotting.theory_line(ax, dd, fp.h2(dd), r"$H_2(d)$ ($\alpha=0$ bound)", color="0.5", style=":")
plotting.theory_line(ax, d_th[order], s_th[order], f"RS theory, y = {Y:g}", color="C1")
ok = conv.all(axis=0)
plotting.data_points(ax, d_bp.mean(0)[ok], s_bp.mean(0)[ok], f"fBP, N = {N}, {SAMPLES} instances (BP converged)",
                     yerr=s_bp.std(0)[ok], color="C0")
if (~ok).any():
    plotting.data_points(ax, d_bp.mean(0)[~ok], s_bp.mean(0)[~ok], "fBP, BP not converged", color="C0",
                         marker="x")
ax.set_ylim(0, 0.45)
ax.legend(fontsize=8)
plotting.show(fig, OUT / "nb4_fbp_local_entropy.png")

fig, ax = plotting.figure(f"Replica overlaps at fixed y = {Y:g}, α = {ALPHA}", r"coupling $\gamma$",
                          "overlap (dimensionless)")
plotting.theory_line(ax, g_th, q0_th, r"RS $q_0$ (different references)", color="C2")
plotting.theory_line(ax, g_th, q1_th, r"RS $q_1$ (same reference)", color="C3", style="--")
plotting.data_points(ax, GAMMAS, q_bp.mean(0), rf"fBP $\langle m_W^2\rangle$, N = {N}, {SAMPLES} instances",
                     yerr=q_bp.std(0), color="C0")
ax.legend(fontsize=8)
plotting.show(fig, OUT / "nb4_fbp_overlaps.png")
plt.close("all")

# %% [markdown]
# ## What this shows (asserted)
#
# * focusing works: the measured distance to the reference decreases as γ grows;
# * far from the reference ($d\ge0.1$) the measured $\Sigma_{\rm int}(d)$, averaged over the
#   instances where BP converged, agrees with the RS theory at the same $d$ within the finite-size
#   offset (0.02 nats at N = 201, where fBP is ~0.01 above RS at every coupling; 0.005 at
#   N = 1001, where it is 0.002–0.004 *below*), and every point stays below $H_2(d)$;
# * the measured overlap lies between the theory's $q_0$ and $q_1$ and matches $q_0$ at the
#   smallest γ;
# * (paper size) close to the reference fBP and RS part: a finding. At N = 1001 (8 instances,
#   first run 2026-12-03) the offset fBP − RS grows steadily as $d$ shrinks, from −0.004 at
#   $d=0.38$ to +0.008 at $d=0.045$ and +0.011 at $d=0.035$; it is what PNAS 2016 (App. D.3,
#   Fig. 11) reports as fBP leaving the RS curve for a 1RSB one. physlearn's finite-y 1RSB
#   (groups of $m$ replicas around each reference) collapses onto RS at every coupling where the RS
#   saddle exists ($\gamma\le0.8$ here), so it does **not** account for the offset; the RS saddle
#   itself ends near $\gamma\approx0.9$. Asserted: the offset at the smallest distance the theory
#   reaches is positive and at least 0.005 above the mean offset at $d\ge0.1$, and the 1RSB search
#   collapses wherever RS exists. The overlaps say where the symmetry breaks: the measured
#   $\langle m_W^2\rangle$ follows RS $q_0$ (replicas of *different* references) at small γ but moves
#   towards $q_1$ (replicas of the *same* reference) as γ grows (0.81 against $q_0=0.60$,
#   $q_1=0.85$ at γ = 0.8, N = 1001): on one instance BP settles on one reference state, as
#   PNAS 2016 Fig. 5 describes. That is a breaking among the references (their measure splits into
#   states), not among the replicas around one reference, which is the ansatz physlearn implements.

# %%
tol = 0.005 if PAPER else 0.02
assert np.all(np.diff(d_bp, axis=1) < 0), d_bp
assert conv[:, :3].all(), conv  # BP converges at the small couplings
assert good.sum() >= 3 * SAMPLES, good
far = (d_mean >= 0.1) & (n_good > 0)
assert far.sum() >= 3, d_mean
print(f"fBP - RS at d >= 0.1 (mean over converged instances, per gamma): {np.round(gap_mean[far], 4)} (tolerance {tol})")
assert np.all(np.abs(gap_mean[far]) < tol), gap_mean
assert np.all(s_bp[good] < np.asarray(fp.h2(d_bp[good])))
if PAPER:
    near = int(np.flatnonzero(n_good > 0)[-1])  # the smallest distance with theory and a converged instance
    excess = gap_mean[near] - gap_mean[far].mean()
    print(f"fBP - RS at d = {d_mean[near]:.4f}: {gap_mean[near]:+.4f}; excess over d >= 0.1: {excess:+.4f}")
    assert gap_mean[near] > 0 and excess > 0.005, gap_mean
    assert collapsed[rs_exists].all(), (collapsed, rs_exists)
q0_at, q1_at = theory_at_gamma(GAMMAS, q0_th), theory_at_gamma(GAMMAS, q1_th)
cq = conv & np.isfinite(q0_at)
assert np.all((q_bp[cq] >= np.broadcast_to(q0_at, q_bp.shape)[cq] - 0.02)
              & (q_bp[cq] <= np.broadcast_to(q1_at, q_bp.shape)[cq] + 0.02))
assert np.all(np.abs(q_bp[:, 0] - q0_at[0]) < 0.02), (q_bp[:, 0], q0_at[0])
