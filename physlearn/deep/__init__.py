"""Deep-network tools for the flat-minima side of the theory: networks with continuous weights.

* :mod:`~physlearn.deep.optim` -- local-entropy optimisers (Entropy-SGD, replicated SGD, EASGD,
  Parle) as optax transformations, SAM, ``optim.fit`` and ``optim.compare``;
* :mod:`~physlearn.deep.flatness` -- local energy, Hessian eigenvalues (Lanczos), spectral density
  (SLQ) and the index of critical points, on any pytree / equinox model;
* :mod:`~physlearn.deep.nets` -- small equinox MLPs (ReLU, tanh, ESP, ...) and committee machines
  with continuous weights.

Data sets (scikit-learn's digits, MNIST-format files) are in :mod:`physlearn.datasets`; the
couplings' schedules in :mod:`physlearn.algorithms.schedules`.
"""

from . import flatness, nets, optim

__all__ = ["flatness", "nets", "optim"]
