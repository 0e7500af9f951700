"""Upstream defaults: what the wrapped library would use, declared beside ours.

An adapter lists, in ``upstream_defaults``, the library's default for each of its own
parameters that has one. A value read from the library's signature is declared as
:class:`Upstream` and resolved against the installed version, so the documentation
cannot drift from the library; a default that lives in the library's code rather than
its signature (SHAP's ``2F+2048`` samples) is declared as a plain string.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

__all__ = ["Upstream", "resolve_upstream_defaults"]


@dataclass(frozen=True)
class Upstream:
    """The default of ``param`` in the signature of ``target`` (``"module:Qual.name"``).

    Examples
    --------
    >>> Upstream("captum.attr:IntegratedGradients.attribute", "n_steps").resolve()
    50
    """

    target: str
    param: str

    def resolve(self) -> Any:
        """The default in the installed library.

        Raises
        ------
        ImportError
            When the library is not installed.
        LookupError
            When the target or the parameter no longer exists (the library changed).
        """
        module_name, _, qualname = self.target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            if not hasattr(obj, part):
                raise LookupError(f"{self.target}: {part!r} not found in the installed library")
            obj = getattr(obj, part)
        params = inspect.signature(obj).parameters
        if self.param not in params or params[self.param].default is inspect.Parameter.empty:
            raise LookupError(f"{self.target} has no default for {self.param!r}")
        return params[self.param].default


def resolve_upstream_defaults(cls: type) -> dict[str, Any]:
    """``cls.upstream_defaults`` with every :class:`Upstream` read from the installed library.

    An entry whose library is missing or changed resolves to a string saying so, so a
    reference page still builds.

    Examples
    --------
    >>> from xai_bench.adapters.lime import LimeTabular
    >>> resolve_upstream_defaults(LimeTabular)["n_samples"]
    5000
    """
    out: dict[str, Any] = {}
    for name, value in dict(getattr(cls, "upstream_defaults", None) or {}).items():
        if isinstance(value, Upstream):
            try:
                value = value.resolve()
            except (ImportError, LookupError) as exc:
                value = f"unknown ({exc})"
        out[name] = value
    return out
