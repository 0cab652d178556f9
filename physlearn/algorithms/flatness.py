"""Deprecated alias of :mod:`physlearn.deep.flatness` (the deep-network tools moved to
:mod:`physlearn.deep`); importing it emits a ``DeprecationWarning`` and returns the new module."""

import importlib
import sys

from .._validation import warn_deprecated

warn_deprecated("physlearn.algorithms.flatness is deprecated: use physlearn.deep.flatness")
sys.modules[__name__] = importlib.import_module("physlearn.deep.flatness")
