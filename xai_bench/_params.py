"""Hyperparameters read from the constructor's signature (scikit-learn's rule)."""

from __future__ import annotations

import inspect
from typing import Any


class Parameterised:
    """Base for classes whose ``__init__`` arguments are stored as attributes of the same name.

    Gives ``get_params()`` (those attributes, in signature order) and a ``repr`` that
    shows them; used by explainers, metrics and maskers.
    """

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read from the constructor's signature (sklearn's rule)."""
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self" and sig.parameters[p].kind is not inspect.Parameter.VAR_KEYWORD
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
