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
# # 1. Gardner capacity of the perceptron
#
# The storage problem: $P=\alpha N$ random patterns, weights $W$ with $W\cdot W=N$ (spherical)
# or $W_i=\pm1$ (binary), margin $\kappa$. We compute with `physlearn.theory.gardner`:
#
# * the spherical capacity $\alpha_c(\kappa)=[\int_{-\kappa}^\infty Dt\,(t+\kappa)^2]^{-1}$
#   (Gardner 1988), $\alpha_c(0)=2$;
# * the binary RS entropy vs $\alpha$ and its zero, the Krauth–Mézard capacity $0.8330786$;
# * the RS (replicon) stability: the binary RS solution is stable at the capacity and becomes
#   unstable only at $\alpha_{AT}\approx1.015$ (Gardner & Derrida 1988).
#
# Size switch: `PHYSLEARN_SIZE=paper` for dense grids (default: small, a minute on 2 cores).

# %%
import os

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

jax.config.update("jax_enable_x64", True)

from physlearn import plotting  # noqa: E402
from physlearn.theory import gardner  # noqa: E402

SIZE = os.environ.get("PHYSLEARN_SIZE", "small")
N_ALPHA = 400 if SIZE == "paper" else 64
OUT = plotting.output_dir(globals().get("__file__"))  # $PHYSLEARN_NOTEBOOK_OUT, else notebooks/output/ (git-ignored)

# %% [markdown]
# ## Spherical capacity vs margin

# %%
kappa = np.linspace(0.0, 2.0, N_ALPHA)
a_sph = gardner.spherical_capacity(kappa)
fig, ax = plotting.figure("Spherical perceptron", r"margin $\kappa$", r"$\alpha_c(\kappa)$")
plotting.theory_line(ax, kappa, a_sph, "RS capacity (exact for $\\kappa\\geq0$)")
ax.legend()
plotting.show(fig, OUT / "nb1_spherical_capacity.png")
print("alpha_c(0) =", float(a_sph[0]))

# %% [markdown]
# ## Binary perceptron: RS entropy and the Krauth–Mézard point

# %%
alpha = np.linspace(0.02, 1.25, N_ALPHA)
rs = gardner.binary_rs(alpha, on_failure="flag")
a_km = float(gardner.binary_capacity(0.0))
fig, ax = plotting.figure("Binary perceptron, RS", r"load $\alpha$", "entropy per weight (nats)")
plotting.theory_line(ax, alpha[rs.converged], rs.entropy[rs.converged], "RS entropy")
plotting.mark_value(ax, a_km, rf"$\alpha_{{KM}}={a_km:.5f}$")
plotting.mark_value(ax, 4 / np.pi, r"$4/\pi$ ($q\to1$, not the capacity)", style="--")
ax.axhline(0, color="0.5", lw=0.8)
ax.legend(fontsize=8)
plotting.show(fig, OUT / "nb1_binary_entropy.png")
print("alpha_KM =", a_km)

# %% [markdown]
# ## RS stability

# %%
fine = gardner.binary_rs(np.linspace(1.0, 1.03, 31))
alpha_at = float(np.interp(1.0, fine.replicon, fine.alpha))
print("replicon at alpha_KM:", float(gardner.binary_rs(a_km).replicon), " alpha_AT:", alpha_at)
plt.close("all")

# %% [markdown]
# ## What this shows (asserted)

# %%
assert abs(float(a_sph[0]) - 2.0) < 1e-10  # Cover 1965 / Gardner 1988
assert abs(a_km - 0.833078599) < 1e-6  # Krauth-Mezard 1989; Ding & Sun 2019
assert gardner.binary_rs(a_km).replicon < 1  # RS stable at the capacity
assert abs(alpha_at - 1.015) < 2e-3  # Gardner & Derrida 1988
assert np.all(np.diff(rs.entropy[rs.converged]) < 0)  # entropy decreases with the load
