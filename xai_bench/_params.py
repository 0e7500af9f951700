"""Hyperparameters read from the constructor's signature (scikit-learn's rule), and checked
against declared specs when the object is built.

Every explainer, metric and masker derives from :class:`Parameterised`. After its
constructor runs, each parameter is checked against its :class:`Spec`, found in this
order: the class's ``param_specs`` (merged along the MRO), the shared table ``PARAMS``
(names that mean the same everywhere: ``n_samples``, ``seed``, ``order``...), else the
type of the signature's default (an ``int`` default takes integers, a ``bool`` default
takes booleans). So ``xai-bench validate`` catches a bad value by building the object,
and no explainer or metric needs checks of its own.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import InvalidInputError

__all__ = ["PARAMS", "Parameterised", "Spec", "check_param", "param_specs", "validated_init"]

_NAMES: dict[type, tuple[str, ...]] = {}
_SPECS: dict[type, dict[str, Spec]] = {}
_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Spec:
    """What one hyperparameter accepts.

    Parameters
    ----------
    kind : {"int", "float", "bool", "choice", "array", "floats", "any"}
        ``"array"``: a real number or an array of them; ``"floats"``: a sequence of
        real numbers, each in range.
    low, high : float, optional
        Inclusive bounds (``low_open``: exclusive lower bound).
    choices : tuple of str
        The accepted strings (``"choice"``), or strings accepted besides a number.
    other : bool
        ``"choice"`` only: values that are not strings (numbers, arrays, objects) pass.
    none : bool
        None is accepted (also whenever the signature's default is None).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    other: bool = False
    none: bool = False

    def expected(self) -> str:
        what = {
            "int": "an integer",
            "float": "a number",
            "bool": "True or False",
            "array": "a number or an array of numbers",
            "floats": "a list of numbers",
            "any": "any value",
        }.get(self.kind, "")
        if self.kind in ("int", "float", "floats"):
            lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
            hi = "" if self.high is None else f"<= {self.high:g}"
            what += " " + " and ".join(b for b in (lo, hi) if b) if lo or hi else ""
        if self.choices:
            names = ", ".join(repr(c) for c in self.choices)
            what = f"one of {names}" + (f", or {what}" if what else "")
            if self.other:
                what += ", a number, an array or an object"
        return what + (" (or None)" if self.none else "")


def count(low: int = 1, **kw: Any) -> Spec:
    """An integer count, at least ``low``."""
    return Spec("int", low=low, **kw)


def positive(**kw: Any) -> Spec:
    """A real number > 0."""
    return Spec("float", low=0.0, low_open=True, **kw)


def choice(*options: str, **kw: Any) -> Spec:
    return Spec("choice", choices=options, **kw)


#: Parameters that mean the same in every class that has them.
PARAMS: dict[str, Spec] = {
    **dict.fromkeys(
        (
            "n_samples",
            "n_steps",
            "steps",
            "n_iter",
            "max_rows",
            "max_background",
            "max_features",
            "max_evals",
            "n_segments",
            "n_background",
            "window",
            "stride",
            "perturbations_per_eval",
            "patch",
            "k",
            "iterations",
        ),
        count(),
    ),  # fmt: skip
    "n_runs": count(2),  # a correlation needs two points
    "n_perturbations": count(2),  # with one, the optimal scaling fits it exactly: always 0
    "seed": count(0),
    **dict.fromkeys(("radius", "kernel_width", "compactness", "max_memory_mb"), positive()),
    "stdevs": Spec("float", low=0.0),
    "noise": Spec("float", low=0.0),
    "ridge": Spec("float", low=0.0),
    "subset_size": positive(),
    "fractions": Spec("floats", low=0.0, low_open=True, high=1.0),
    "order": choice("signed", "abs"),
    "space": choice("probability", "log_odds"),
    "baseline": choice(
        "default", "mean", "min", "zero", "background", "impute", "token", other=True
    ),
    "perturbation": choice("auto", "gaussian", "subset"),
    "background_summary": choice("kmeans", "sample"),
    "model_output": choice("raw", "probability"),
    "feature_perturbation": choice("interventional", "tree_path_dependent"),
    "aggregate": choice("sum", "l2"),
}


def _param_names(cls: type) -> tuple[str, ...]:
    """The constructor's parameter names, in order (read once per class: a signature
    costs ~20 us, and metrics record their parameters on every call)."""
    if cls not in _NAMES:
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]
        _NAMES[cls] = tuple(
            p
            for p, param in sig.parameters.items()
            if p != "self"
            and param.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        )
    return _NAMES[cls]


def param_specs(cls: type) -> dict[str, Spec]:
    """The spec of every checked parameter of ``cls`` (unchecked ones are left out)."""
    if cls not in _SPECS:
        declared: dict[str, Spec] = {}
        for klass in reversed(cls.__mro__):
            declared.update(vars(klass).get("param_specs", {}))
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]
        out: dict[str, Spec] = {}
        for name in _param_names(cls):
            default = sig.parameters[name].default
            spec = declared.get(name) or PARAMS.get(name) or _inferred(default)
            if spec is None:
                continue
            if default is None and not spec.none:
                spec = Spec(**{**spec.__dict__, "none": True})
            out[name] = spec
        _SPECS[cls] = out
    return _SPECS[cls]


def _inferred(default: Any) -> Spec | None:
    if isinstance(default, bool | np.bool_):
        return Spec("bool")
    if isinstance(default, numbers.Integral):
        return Spec("int")
    if isinstance(default, numbers.Real):
        return Spec("float")
    return None  # strings and objects need a declared spec (their choices)


def check_param(spec: Spec, name: str, value: Any, owner: str = "") -> Any:
    """``value`` if ``spec`` accepts it (integral floats become ints), else InvalidInputError."""
    if value is None and spec.none:
        return value
    problem, out = _check(spec, value)
    if problem is None:
        return out
    where = f"{owner} parameter " if owner else "parameter "
    hint = ""
    if isinstance(value, str) and spec.choices:
        low = value.lower()
        close = difflib.get_close_matches(low, spec.choices, n=1, cutoff=0.6) or [
            c for c in spec.choices if low.startswith(c) or c.startswith(low)
        ]
        hint = f"Did you mean {name}={close[0]!r}? " if close else ""
    elif isinstance(value, str) and spec.kind == "bool":
        hint = "Use True or False (true / false in YAML, unquoted), not a string. "
    elif isinstance(value, str) and spec.kind in ("int", "float"):
        hint = "Write the number without quotes. "
    raise InvalidInputError(
        f"{where}{name}={value!r} ({problem})",
        spec.expected(),
        f"{hint}Leave {name} out to use its default.",
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


def _in_range(spec: Spec, v: float) -> bool:
    if not np.isfinite(v):
        return False
    if spec.low is not None and (v <= spec.low if spec.low_open else v < spec.low):
        return False
    return spec.high is None or v <= spec.high


def _check(spec: Spec, v: Any) -> tuple[str | None, Any]:
    kind = spec.kind
    if isinstance(v, str) and v in spec.choices:
        return None, v
    if kind == "any":
        return None, v
    if kind == "bool":
        ok = isinstance(v, bool | np.bool_)
        return (None, bool(v)) if ok else (f"a {type(v).__name__}, not a boolean", v)
    if kind == "choice":
        if isinstance(v, str):
            return "not a known option", v
        if spec.other and not isinstance(v, bool | np.bool_):
            return None, v
        return f"a {type(v).__name__}, not a string", v
    if kind in ("int", "float"):
        if not _is_number(v):
            return f"a {type(v).__name__}, not a number", v
        if kind == "int" and not float(v).is_integer():
            return "not a whole number; it would be truncated", v
        if not _in_range(spec, float(v)):
            return "out of range", v
        return None, (int(v) if kind == "int" else v)
    if kind == "array":
        if _is_number(v):
            return None, v
        try:
            arr = np.asarray(v)
        except (TypeError, ValueError):
            return f"a {type(v).__name__}", v
        ok = arr.dtype.kind in "iuf" and arr.size > 0 and np.isfinite(arr).all()
        return (None, v) if ok else ("not an array of finite numbers", v)
    if kind == "floats":
        items = [v] if _is_number(v) or isinstance(v, str) else v
        try:
            vals = list(items)
        except TypeError:
            return f"a {type(v).__name__}, not a list", v
        if not vals or not all(_is_number(x) and _in_range(spec, float(x)) for x in vals):
            return "an empty list or an entry out of range", v
        return None, tuple(vals)
    raise ValueError(f"unknown spec kind {kind!r}")  # a bug in a declaration


def check_params(obj: Any) -> None:
    """Check (and normalise in place) every declared parameter of ``obj``."""
    owner = getattr(type(obj), "name", None)
    owner = owner if isinstance(owner, str) else getattr(getattr(obj, "info", None), "name", None)
    owner = owner or type(obj).__name__
    for name, spec in param_specs(type(obj)).items():
        value = getattr(obj, name, _EMPTY)
        if value is _EMPTY:  # stored under another name: get_params() will say so
            continue
        checked = check_param(spec, name, value, owner)
        if checked is not value:
            setattr(obj, name, checked)


def validated_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` followed by :func:`check_params`, once, when the outermost constructor ends."""

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self).__init__ is __init__:  # the constructor of the built class: all set
            check_params(self)

    __init__.__validated__ = True  # type: ignore[attr-defined]
    return __init__


class Parameterised:
    """Base for classes whose ``__init__`` arguments are stored as attributes of the same name.

    Gives ``get_params()`` (those attributes, in signature order), a ``repr`` that shows
    them, and the check of every parameter against its :class:`Spec` when the object is
    built; used by explainers, metrics and maskers. ``param_specs`` declares a class's
    own specs (overriding ``PARAMS`` by name).
    """

    param_specs: ClassVar[dict[str, Spec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__validated__", False):
            cls.__init__ = validated_init(init)  # type: ignore[method-assign]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read from the constructor's signature (sklearn's rule)."""
        return {p: getattr(self, p) for p in _param_names(type(self))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
