"""Adapters generated from a table of methods: one base class, one class factory."""

from __future__ import annotations

import inspect
from typing import Any

from .._params import validated_init
from ..explainer import BaseExplainer, Capabilities

__all__ = ["TableExplainer", "build_adapter"]


class TableExplainer(BaseExplainer):
    """Base for adapters built from a table row: the hyperparameters are ``_defaults()``.

    ``build_adapter`` gives each subclass a real keyword-only ``__init__`` signature,
    so ``get_params()``, ``help()`` and bad-parameter errors work as for a written class.
    """

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self._defaults())
        if unknown:
            raise TypeError(f"unexpected parameters {sorted(unknown)}")
        for key, default in self._defaults().items():
            setattr(self, key, params.get(key, default))

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        raise NotImplementedError


def build_adapter(
    base: type[TableExplainer],
    name: str,
    capabilities: Capabilities,
    spec: Any,
    doc: str,
    **attrs: Any,
) -> Any:
    """The subclass of ``base`` for the id ``name``, with an ``__init__`` from ``_defaults``.

    ``"captum.integrated_gradients"`` gives class ``IntegratedGradients`` with that
    ``name``, ``capabilities``, table row ``spec`` and docstring ``doc``, plus ``attrs``.
    """
    cls_name = "".join(part.title() for part in name.split(".", 1)[1].split("_"))
    attrs = {"name": name, "capabilities": capabilities, "spec": spec, "__doc__": doc, **attrs}
    cls: Any = type(cls_name, (base,), {**attrs, "__module__": base.__module__})
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [
        inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
        for k, v in cls._defaults().items()
    ]

    def __init__(self: TableExplainer, **kw: Any) -> None:
        TableExplainer.__init__(self, **kw)

    __init__.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    cls.__init__ = validated_init(__init__)  # parameters checked against their specs
    return cls
