"""Hyperparameters read from the constructor's signature (scikit-learn's rule)."""

from __future__ import annotations

import inspect
from typing import Any

_NAMES: dict[type, tuple[str, ...]] = {}


def _param_names(cls: type) -> tuple[str, ...]:
    """The constructor's parameter names, in order (read once per class: a signature
    costs ~20 us, and metrics record their parameters on every call)."""
    if cls not in _NAMES:
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]
        _NAMES[cls] = tuple(
            p
            for p, param in sig.parameters.items()
            if p != "self" and param.kind is not inspect.Parameter.VAR_KEYWORD
        )
    return _NAMES[cls]


class Parameterised:
    """Base for classes whose ``__init__`` arguments are stored as attributes of the same name.

    Gives ``get_params()`` (those attributes, in signature order) and a ``repr`` that
    shows them; used by explainers, metrics and maskers.
    """

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read from the constructor's signature (sklearn's rule)."""
        return {p: getattr(self, p) for p in _param_names(type(self))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
