# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 6. Flat minima: local-entropy optimisers, flatness measures and real data
#
# The replica theory of the binary perceptron says that the solutions algorithms find are rare,
# *dense* (flat) regions of the weight space, and that algorithms which maximise the *local
# entropy* go there on purpose. Here we take the continuous-weight versions of those algorithms
# to small networks and measure flatness directly:
#
# * optimisers (`physlearn.algorithms.optim`): SGD, **Entropy-SGD** (Chaudhari et al. 2017: an
#   inner Langevin loop estimates the local-entropy gradient $\gamma(x-\langle x'\rangle)$),
#   **replicated SGD** (robust ensemble: $y$ replicas elastically pulled to their mean, which is
#   the network we test), and **SAM** (`optax.contrib.sam`) as the non-replica baseline;
# * flatness (`physlearn.algorithms.flatness`): the **local energy**
#   $\delta E_{train}(\sigma) = \mathbb{E}_\xi E_{train}(W\odot(1+\sigma\xi)) - E_{train}(W)$,
#   the train error under multiplicative Gaussian weight noise (Pittorino et al., ICLR 2021), and
#   the **top Hessian eigenvalues** of the training loss (Lanczos on Hessian-vector products);
# * data: scikit-learn's 8x8 **digits** (no download) with a small MLP, and **random patterns**
#   for a tree committee machine with continuous weights;
# * activations (`physlearn.algorithms.nets`): ReLU, tanh and ESP
#   $h\,\sigma(\beta h)$ (Milletari et al. 2018), with the index of the critical point found
#   (fractions of negative and zero Hessian eigenvalues).
#
# Budget convention: every optimiser sees the same number of **epochs per network** (SGD $T$
# steps, Entropy-SGD $T/L$ outer steps of $L$ gradients, replicated SGD $T$ steps of every replica,
# SAM $T$ steps of two gradients). Every quantity is measured on 5 seeds (vmapped), common to all
# optimisers: same initial networks, same noise draws for the local energy.
#
# Size switch: `PHYSLEARN_SIZE=paper` for wider networks, longer training and 10 seeds.

# %%
import os
import time

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
if SIZE != "paper" and "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    # small size on a CPU is dominated by XLA compile time: the cheapest backend optimisation level
    # compiles about twice as fast (set before JAX starts; no effect if JAX was imported already)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from physlearn import plotting  # noqa: E402
from physlearn.algorithms import flatness, nets, optim, problems  # noqa: E402

OUT = os.environ.get("PHYSLEARN_NOTEBOOK_OUT", ".")
PAPER = SIZE == "paper"
SEEDS = 10 if PAPER else 5
T0 = time.perf_counter()

# %% [markdown]
# ## 1. Digits with a one-hidden-layer MLP
#
# 64 inputs (pixel/16), a ReLU hidden layer, 10 outputs, softmax cross-entropy; 1348 training and
# 449 test images. Hyper-parameters (ours, lightly tuned): learning rate 0.1, batch 32;
# Entropy-SGD $L=5$, $\eta'=0.1$, outer rate 2, $\gamma_0=0.03$, scoping $10^{-3}$, noise
# $10^{-3}$; replicated SGD $y=3$, $\gamma_0=0.03$, scoping $2\cdot10^{-3}$ capped at $\gamma=2$,
# replicas started at a 30% relative spread; SAM $\rho=0.05$.

# %%
digits = problems.digits(seed=0)
HIDDEN = 64 if PAPER else 12
T = 6000 if PAPER else 600
L = 5


def optimisers(lr, T, *, gamma_e, gamma_r, rho):
    return {
        "SGD": (optax.sgd(lr), T),
        "Entropy-SGD": (optim.entropy_sgd(2.0, L=L, inner_lr=lr, gamma=gamma_e, scoping=1e-3, gamma_max=1.0 / lr,
                                          noise=1e-3), T // L),
        "replicated SGD": (optim.replicated_sgd(lr, replicas=3, gamma=gamma_r, scoping=2e-3, gamma_max=0.2 / lr,
                                                spread=0.3), T),
        "SAM": (optim.sam(lr, rho), T),
    }


SIGMAS = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4])
DRAWS, ITERS = (64, 60) if PAPER else (16, 30)  # local-energy noise draws, Lanczos steps
dig = optim.compare(
    jax.random.key(0), lambda k: nets.mlp(k, (64, HIDDEN, 10), "relu"), nets.loss, nets.error, digits.train,
    optimisers(0.1, T, gamma_e=0.03, gamma_r=0.03, rho=0.05), seeds=SEEDS, batch_size=32, test=digits.test,
    sigmas=SIGMAS, draws=DRAWS, k=3, iters=ITERS,
)


def table(results, test=True):
    head = f"{'optimiser':15s} {'train err':>16s} " + (f"{'test acc':>16s} " if test else "")
    head += f"{'dE(0.2)':>16s} {'lambda_max':>14s} {'seconds':>8s}"
    print(head)
    for name, r in results.items():
        i = int(np.argmin(np.abs(r.sigma - 0.2)))
        line = f"{name:15s} {r.train_error.mean():8.4f}±{r.train_error.std():.4f} "
        if test:
            acc = 1 - r.test_error
            line += f"{acc.mean():8.4f}±{acc.std():.4f} "
        line += f"{r.local_energy[:, i].mean():8.4f}±{r.local_energy[:, i].std():.4f} "
        line += f"{r.top_eigenvalues[:, 0].mean():7.3f}±{r.top_eigenvalues[:, 0].std():.3f} {r.seconds:8.1f}"
        print(line)


table(dig)


def energy_figure(results, title, fname):
    fig, ax = plotting.figure(title, r"relative weight noise $\sigma$", r"$\delta E_{train}(\sigma)$ (train error)")
    for j, (name, r) in enumerate(results.items()):
        plotting.data_points(ax, r.sigma + 0.004 * (j - 1.5), r.local_energy.mean(0), f"{name} ({SEEDS} seeds)",
                             yerr=r.local_energy.std(0), marker="osD^"[j])
    ax.legend(fontsize=8)
    plotting.save(fig, os.path.join(OUT, fname))


energy_figure(dig, f"Digits, MLP 64-{HIDDEN}-10: local energy", "nb6_digits_local_energy.png")
print(f"[{time.perf_counter() - T0:.1f} s wall, {time.process_time():.1f} s cpu]")

# %% [markdown]
# ## 2. Random patterns: tree committee machine with continuous weights
#
# $K=3$ hidden tanh units, each with its own $n$ inputs ($\pm1$, from
# `problems.random_patterns(..., architecture="tree")`), random $\pm1$ labels at
# $\alpha = M/(nK) = 0.6$; output $f = \sum_k \tanh(h_k)/\sqrt K$, logistic loss. There is no
# test set: what matters is whether the training set is learned and how flat the solution is.

# %%
N_UNIT = 51 if PAPER else 25
cm_prob = problems.random_patterns(jax.random.key(7), N_UNIT, 0.6, k=3, architecture="tree")
cm_data = (cm_prob.inputs.astype(jnp.float32), cm_prob.labels.astype(jnp.float32))
T_CM = 8000 if PAPER else 1000
com = optim.compare(
    jax.random.key(1), lambda k: nets.committee(k, N_UNIT, 3, tree=True, activation="tanh", dtype=jnp.float32),
    nets.loss, nets.error, cm_data, optimisers(0.5, T_CM, gamma_e=0.1, gamma_r=0.01, rho=0.3), seeds=SEEDS,
    batch_size=10, sigmas=SIGMAS, draws=DRAWS, k=3, iters=ITERS,
)
print(f"M = {cm_prob.m} patterns, {3 * N_UNIT} weights")
table(com, test=False)
energy_figure(com, f"Tree committee K=3, n={N_UNIT}, random patterns: local energy", "nb6_committee_local_energy.png")
print(f"[{time.perf_counter() - T0:.1f} s wall, {time.process_time():.1f} s cpu]")

# %% [markdown]
# ## 3. Are the Hessian numbers right? Lanczos against the dense Hessian
#
# For the first SGD-trained digits network the dense Hessian ($n$ = number of weights) is small
# enough for `jnp.linalg.eigvalsh`; Lanczos (30 Hessian-vector products) must give the same top
# eigenvalues. The stochastic Lanczos quadrature gives the whole spectral density.

# %%
m0 = jax.tree_util.tree_map(lambda x: x[0] if eqx.is_array(x) else x, dig["SGD"].models)
dense = np.linalg.eigvalsh(np.asarray(flatness.dense_hessian(nets.loss, m0, digits.train), dtype=np.float64))
lanczos = np.asarray(dig["SGD"].top_eigenvalues[0])
print("n =", dense.size, " top-3 dense:", dense[::-1][:3], " Lanczos:", lanczos)
# the density: stochastic Lanczos quadrature of all ReLU networks, computed in section 4 (and
# broadened here); the dense spectrum of the first network as a histogram
SLQ_PROBES, SLQ_ITERS = (8, 80) if PAPER else (4, 50)
TOL = 1e-4
slq_relu = eqx.filter_vmap(lambda m: flatness.hessian_density(nets.loss, m, digits.train, jax.random.key(4),
                                                               probes=SLQ_PROBES, iters=SLQ_ITERS, grid=2))(
    dig["SGD"].models)
nodes0, weights0 = np.asarray(slq_relu.nodes[0]).ravel(), np.asarray(slq_relu.weights[0]).ravel()
grid = np.linspace(dense.min() - 0.3, dense.max() + 0.3, 800)
width = 0.02 * (dense.max() - dense.min())
density = (weights0[None, :] * np.exp(-0.5 * ((grid[:, None] - nodes0[None, :]) / width) ** 2)).sum(1)
density /= SLQ_PROBES * width * np.sqrt(2 * np.pi)
fig, ax = plotting.figure("Hessian spectral density, digits MLP after SGD", r"eigenvalue $\lambda$", "density")
plotting.theory_line(ax, grid, np.maximum(density, 1e-5), f"SLQ, {SLQ_PROBES} probes x {SLQ_ITERS} Lanczos steps")
ax.hist(dense, bins=120, density=True, alpha=0.35, label="dense eigvalsh (histogram)")
ax.set_yscale("log")
ax.legend(fontsize=8)
plotting.save(fig, os.path.join(OUT, "nb6_hessian_density.png"))
print(f"[{time.perf_counter() - T0:.1f} s wall, {time.process_time():.1f} s cpu]")

# %% [markdown]
# ## 4. Activations: ReLU, tanh, ESP
#
# The same digits MLP trained by SGD with three activations. Besides test accuracy we measure the
# Hessian spectrum at the end of training by stochastic Lanczos quadrature (4 probes x 60 steps):
# its largest Ritz value (the top eigenvalue) and the **index** of the critical point reached, the
# fractions of negative and of (near-)zero eigenvalues, threshold $10^{-4}\,|\lambda|_{max}$
# (`critical_point_index(method="slq")`; section 3 checks it against the dense count). ESP with
# $\beta=1$ (i.e. SiLU) is smooth like tanh and unbounded like ReLU.

# %%
ACTS = ("relu", "tanh", "esp")
keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.key(0), s))(jnp.arange(SEEDS))
act_res = {}
for act in ACTS:
    if act == "relu":
        models = dig["SGD"].models
    else:
        models = eqx.filter_vmap(lambda k, a=act: optim.fit(
            k, nets.mlp(jax.random.fold_in(k, 1), (64, HIDDEN, 10), a), nets.loss, digits.train, optax.sgd(0.1), T, 32
        ).params)(keys)
    acc = np.asarray(eqx.filter_vmap(lambda m: 1 - nets.error(m, digits.test))(models))
    d = slq_relu if act == "relu" else eqx.filter_vmap(lambda m: flatness.hessian_density(
        nets.loss, m, digits.train, jax.random.key(4), probes=SLQ_PROBES, iters=SLQ_ITERS, grid=2))(models)
    neg, zero = jax.vmap(lambda nodes, w: flatness.SpectralDensity(nodes, w, w[0], w[0], w[0, 0]).index(TOL))(
        d.nodes, d.weights)
    act_res[act] = dict(acc=acc, top=np.asarray(d.nodes).max(axis=(1, 2)), neg=np.asarray(neg), zero=np.asarray(zero))
print(f"{'activation':10s} {'test acc':>16s} {'lambda_max':>14s} {'neg. fraction':>16s} {'zero fraction':>16s}")
for act, r in act_res.items():
    print(f"{act:10s} {r['acc'].mean():8.4f}±{r['acc'].std():.4f} {r['top'].mean():7.3f}±{r['top'].std():.3f}"
          f" {r['neg'].mean():8.4f}±{r['neg'].std():.4f} {r['zero'].mean():8.4f}±{r['zero'].std():.4f}")
# the SLQ index of the first ReLU network against the dense count (section 3)
s0 = np.abs(dense).max()
dense_index = (np.mean(dense < -TOL * s0), np.mean(np.abs(dense) <= TOL * s0))
slq_index = (act_res["relu"]["neg"][0], act_res["relu"]["zero"][0])
print("index of the first ReLU network, dense:", np.round(dense_index, 4), " SLQ:", np.round(slq_index, 4))
fig, ax = plotting.figure(f"Digits MLP 64-{HIDDEN}-10, SGD: activations", "activation", "value")
x = np.arange(len(ACTS))
for off, key_, label, mk in ((-0.1, "acc", "test accuracy", "o"), (0.0, "neg", "fraction of negative eigenvalues", "^"),
                             (0.1, "zero", "fraction of zero eigenvalues", "s")):
    plotting.data_points(ax, x + off, [act_res[a][key_].mean() for a in ACTS], f"{label} ({SEEDS} seeds)",
                         yerr=[act_res[a][key_].std() for a in ACTS], marker=mk)
ax.set_xticks(x, ACTS)
ax.legend(fontsize=8)
plotting.save(fig, os.path.join(OUT, "nb6_activations.png"))
plt.close("all")
print(f"total {time.perf_counter() - T0:.1f} s")

# %% [markdown]
# ## What this shows
#
# (Numbers of the small run, 5 seeds; the printed tables above are the source.)
#
# DISCUSSION

# %% [markdown]
# ## Asserted

# %%
# the Hessian numbers are right: Lanczos top eigenvalues = dense eigenvalues (float32 model)
np.testing.assert_allclose(lanczos, dense[::-1][:3], rtol=2e-3)
# the SLQ density is a probability density
assert abs(np.trapezoid(density, grid) - 1) < 1e-3
# every optimiser learns digits (well above the 10% of guessing), and the local energy grows with sigma
for r in dig.values():
    assert np.all(1 - r.test_error > 0.85)
    assert np.all(r.local_energy[:, -1] > r.local_energy[:, 1])
assert np.all(np.abs(dig["SGD"].local_energy[:, 0]) < 1e-6)  # delta E(0) = 0
