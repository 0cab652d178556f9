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
# # 2. The golf course and the dense regions
#
# Two ways of counting the solutions $W\in\{\pm1\}^N$ of $P=\alpha N$ random patterns that lie at
# normalised Hamming distance $d$ from a reference $\tilde W$:
#
# * **Franz–Parisi potential** (Huang & Kabashima, PRE 90, 052813 (2014)): the reference is a
#   *typical* solution, drawn uniformly,
#   $V(d)=\frac1N\mathbb E_{\tilde W\sim\text{uniform}}\log\#\{W:\ W\text{ solves},\ W\cdot\tilde W=N(1-2d)\}$.
#   It equals the Gardner entropy at the typical distance $d_{\rm typ}=(1-q_{\rm RS})/2$ and is
#   *negative* on $(0,d_{\min})$: a typical solution has no other solution nearby, it is
#   isolated (the "golf course" landscape).
# * **Large-deviation local entropy** (Baldassi et al., PRL 115, 128101 (2015); PNAS 113, E7655
#   (2016)): the reference is reweighted by $\mathcal N(\tilde W,d)^y$ with $y\to\infty$, which
#   selects the *densest* regions,
#   $S_I(d)=\lim_{y\to\infty}\frac1{Ny}\mathbb E\log\sum_{\tilde W}\mathcal N(\tilde W,d)^y$.
#   Below $\alpha_U$ (0.755 by physlearn's RS criterion, computed below at paper size; ≈ 0.77 as
#   quoted by PRL 2015) it sticks to $H_2(d)=-d\log d-(1-d)\log(1-d)$ (the $\alpha=0$
#   value: almost every neighbour is a solution) at small $d$: rare, dense regions exist.
#
# Both are replica-symmetric (RS) computations in `physlearn.theory` (`franz_parisi.binary`,
# `local_entropy.binary`), solved by continuation without initial guesses. The 1RSB version of
# $S_I$ (PRL 2015 shows it close to RS at small $d$) is plotted when the library provides it.
#
# Size switch: `PHYSLEARN_SIZE=paper` for five loads, dense grids, the exact zero of $V$
# (`franz_parisi.isolation_distance`) and $\alpha_U$ (`local_entropy.dense_region_threshold`);
# the default small size (two loads, coarse grid, reduced quadrature) is a smoke-size run.

# %%
import os

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

jax.config.update("jax_enable_x64", True)

from physlearn import plotting  # noqa: E402
from physlearn.theory import franz_parisi as fp  # noqa: E402
from physlearn.theory import local_entropy as le  # noqa: E402

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
PAPER = SIZE == "paper"
OUT = plotting.output_dir(globals().get("__file__"))  # $PHYSLEARN_NOTEBOOK_OUT, else notebooks/output/ (git-ignored)
ALPHAS = np.array([0.3, 0.5, 0.6, 0.7, 0.75] if PAPER else [0.5, 0.7])
D = np.geomspace(1e-3, 0.4, 60) if PAPER else np.geomspace(2e-3, 0.34, 12)
FP_NODES = {} if PAPER else dict(n=24, nx=12, neta=12)  # reduced quadrature: V to ~3e-4
LE_NODES = 96 if PAPER else 48

# %% [markdown]
# ## $V(d)$ and $S_I(d)$
#
# One call per functional: the loads are a batch axis (`vmap`), the distances a continuation
# path. Points where a branch does not exist come back flagged (`converged = False`): $V$ below
# the small-$d$ end of its RS branch, $S_I$ beyond its maximum (where $\hat S=\frac12 dS_I/dd<0$).

# %%
v = fp.binary(ALPHAS, D, on_failure="flag", **FP_NODES)
s = le.binary(ALPHAS, D, on_failure="flag", n=LE_NODES)
V, v_ok = np.asarray(v.entropy), np.asarray(v.converged)
S_I, s_ok = np.asarray(s.entropy), np.asarray(s.converged)
d_typ, phi_rs = np.asarray(v.d_typ), np.asarray(v.gardner_entropy)
h2 = np.asarray(fp.h2(D))
for i, a in enumerate(ALPHAS):
    print(f"alpha={a}: d_typ={d_typ[i]:.4f}, Gardner entropy={phi_rs[i]:.5f}; "
          f"V converged at {v_ok[i].sum()}/{D.size} points, S_I at {s_ok[i].sum()}/{D.size}")

# %% [markdown]
# ## 1RSB local entropy
#
# `local_entropy.binary(..., rsb="1rsb")` gives the replicas around each reference a 1RSB
# structure (intra-cluster overlap $q_1$, inter-cluster $q_0$, Parisi parameter $m$; PRL 2015 SM).
# At $m\to1$ the inter-cluster level is exactly the RS saddle, so at every point the library
# (i) computes the replicon slope $\lambda$ of the intra-cluster equations at the collapse
# $q_1=q_0$ (RS locally stable for $\lambda<1$) and (ii) searches a non-trivial solution from a
# nearly frozen start $q_1=q_0+0.9(1-q_0)$. Where the search collapses back, the 1RSB curve is
# the RS curve (the functional equals RS there to quadrature accuracy). Where the RS conjugates
# underflow ($\hat q\lesssim10^{-8}$: the smallest $d$ at $\alpha=0.5$, where $S_I=H_2(d)$) the
# search runs to a frozen $q_1\to1$ solution that the $m\to1$ parametrisation does not resolve;
# those points come back flagged and are left out.

# %%
s1 = le.binary(ALPHAS, D,  # the same grid as the RS call above: its compiled RS solve is reused
               rsb="1rsb", on_failure="flag", n=LE_NODES, n_1rsb=48 if PAPER else 32)
S_1RSB, s1_ok = np.asarray(s1.entropy), np.asarray(s1.converged)
lam, collapsed = np.asarray(s1.replicon), np.asarray(s1.collapsed)
for i, a in enumerate(ALPHAS):
    ok = s1_ok[i]
    print(f"alpha={a}: 1RSB at {ok.sum()}/{D.size} points, collapsed onto RS at {collapsed[i][ok].sum()}, "
          f"max replicon slope {np.max(lam[i][ok]):.3f}")

# %% [markdown]
# ## Isolation distance: the zero of $V$
#
# Small size: linear interpolation (in $\log d$) of the first sign change of $V$ on the grid,
# going down from $d_{\rm typ}$. Paper size: `franz_parisi.isolation_distance` (Newton on the
# saddle point together with $V=0$).


# %%
def zero_crossing(d, val, ok):
    """Largest d below which V turns negative (geometric interpolation between grid points)."""
    idx = np.flatnonzero(ok[:-1] & ok[1:] & (val[:-1] < 0) & (val[1:] > 0))
    if idx.size == 0:
        return np.nan
    j = idx[-1]
    t = val[j] / (val[j] - val[j + 1])
    return float(np.exp(np.log(d[j]) + t * (np.log(d[j + 1]) - np.log(d[j]))))


d_min_grid = np.array([zero_crossing(D, V[i], v_ok[i]) for i in range(ALPHAS.size)])
if PAPER:
    d_min = np.asarray(fp.isolation_distance(ALPHAS, on_failure="flag"))
    alpha_u = float(le.dense_region_threshold())
    alpha_u1 = le.dense_region_threshold(rsb="1rsb", full_output=True)
    print(f"alpha_U (RS, free reference) = {alpha_u:.4f}; 1RSB check: {float(alpha_u1.alpha_U):.4f} "
          f"(collapsed in the whole window, max replicon {float(alpha_u1.max_replicon):.3f}); "
          "quoted by PRL 2015 / PNAS 2016: ~0.77 (RS) and ~0.78 (1RSB), from another criterion")
else:
    d_min = d_min_grid
for a, dm in zip(ALPHAS, d_min):
    print(f"alpha={a}: isolation distance d_min = {dm:.4f}")

# %% [markdown]
# ## Figure

# %%
fig, ax = plotting.figure("Typical solutions vs dense regions (κ = 0)", "distance d to the reference",
                          "entropy per weight (nats)", size=(7.0, 5.0))
plotting.golf_course(ax, D, ALPHAS, S_I, s_ok, V, v_ok, d_min, one_rsb=(S_1RSB, s1_ok))
plotting.show(fig, OUT / "nb2_golf_course.png")

fig, ax = plotting.figure("RS stability of the dense regions (1RSB among the replicas)", "distance d to the reference",
                          r"replicon slope $\lambda$ (RS stable if < 1)", size=(6.0, 4.0))
for i, a in enumerate(ALPHAS):
    ok = s1_ok[i]
    plotting.theory_line(ax, D[ok], lam[i][ok], rf"$\alpha={a:g}$", color=f"C{i}")
ax.axhline(1.0, color="k", lw=0.8, ls="--", label="instability")
ax.set_xscale("log")
ax.legend(fontsize=8)
plotting.show(fig, OUT / "nb2_replicon.png")
plt.close("all")

# %% [markdown]
# ## What this shows (asserted)
#
# * the dense regions hold more solutions than the surroundings of a typical solution at every
#   distance where both exist: $S_I(d) > V(d)$, and $S_I\le H_2$;
# * typical solutions are isolated: $V<0$ just below a zero $d_{\min}>0$, and $d_{\min}$ grows
#   with $\alpha$;
# * below $\alpha_U$ the dense regions exist down to the smallest distance: $S_I>0$ and
#   $S_I(d)\to H_2(d)$ at small $d$;
# * $V$ is largest at $d_{\rm typ}$ where it equals the Gardner entropy (checked on the grid,
#   which does not contain $d_{\rm typ}$);
# * 1RSB among the replicas around the reference: RS is locally stable ($0\le\lambda<1$) along
#   the branch, every search from a nearly frozen start collapses onto RS, and the 1RSB local
#   entropy equals the RS one (a finding of this ansatz; the literature's 1RSB curves differ from
#   RS at larger $d$ and put $\alpha_U$ near 0.78, see the theory notes).

# %%
both = v_ok & s_ok
assert both.sum() >= 4 * ALPHAS.size
assert np.all(S_I[both] - V[both] > 0), np.min(S_I[both] - V[both])
assert np.all(S_I[s_ok] <= np.broadcast_to(h2, S_I.shape)[s_ok] + 1e-9)
assert np.all(np.isfinite(d_min)) and np.all(d_min > 0) and np.all(np.diff(d_min) > 0), d_min
assert np.all(np.abs(d_min_grid - d_min) < 0.2 * d_min)  # grid estimate vs exact zero (paper)
for i in range(ALPHAS.size):
    below = v_ok[i] & (D < d_min[i])
    assert below.any() and np.all(V[i][below] < 0)  # isolated: no solutions at these distances
    j0 = int(np.argmax(s_ok[i]))  # smallest d on the S_I branch (alpha <~ 0.3 flags d <~ 3e-3: S_I = H_2 there)
    assert s_ok[i][j0] and D[j0] < 5e-3 and np.all(S_I[i][s_ok[i]] > 0)  # dense regions down to small d
    assert abs(S_I[i][j0] - h2[j0]) < 1e-3 * h2[j0], (S_I[i][j0], h2[j0])  # S_I -> H_2(d) at small d
    top = np.nanmax(np.where(v_ok[i], V[i], np.nan))
    assert top <= phi_rs[i] + 1e-6 and phi_rs[i] - top < 0.02  # max of V = Gardner entropy at d_typ
degenerate = ~(np.asarray(s.q1_hat) > 1e-8)  # RS conjugates underflow (S_I = H_2 there)
assert np.all(s1_ok <= s_ok) and np.all((s_ok & ~s1_ok) <= degenerate)  # flagged only in the degenerate corner
# the flagged points are the small-d end of the branch (11 points of the paper grid at alpha = 0.3, where
# q1_hat < 1e-8 up to d = 0.016; 2 of the small grid at alpha = 0.5): below every non-degenerate point
for i in range(ALPHAS.size):
    flagged, regular = s_ok[i] & ~s1_ok[i], s_ok[i] & ~degenerate[i]
    assert regular.any() and (not flagged.any() or D[flagged].max() < D[regular].min()), ALPHAS[i]
assert np.all(collapsed[s1_ok]) and np.all((lam[s1_ok] >= 0) & (lam[s1_ok] < 1))
assert np.max(np.abs(S_1RSB[s1_ok] - S_I[s1_ok])) < 1e-5  # 1RSB functional at its saddle = RS value
