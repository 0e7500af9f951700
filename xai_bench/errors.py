"""Exceptions raised by xai-bench.

Every error says what was found, what was expected, and how to fix it.
The tree::

    XaiBenchError
    ├── UnknownNameError        (also KeyError)     unknown explainer / metric / task id
    ├── MissingDependencyError  (also ImportError)  an optional extra is not installed
    ├── InvalidInputError       (also ValueError)   bad data, model, parameter or config
    ├── IncompatibleError                           explainer/metric cannot handle a task;
    │                                               the runner records it as a skip
    └── StoreError                                  the results store cannot be used
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "IncompatibleError",
    "InvalidInputError",
    "MissingDependencyError",
    "StoreError",
    "UnknownNameError",
    "XaiBenchError",
]


class XaiBenchError(Exception):
    """Root of every error xai-bench raises on purpose.

    Examples
    --------
    >>> issubclass(xb.InvalidInputError, xb.XaiBenchError)
    True
    """


class UnknownNameError(XaiBenchError, KeyError):
    """An explainer, metric or task id that is not registered.

    Parameters
    ----------
    kind : str
        ``"explainer"``, ``"metric"`` or ``"task"``.
    name : str
        The id that was asked for.
    valid : iterable of str
        The registered ids (the closest is suggested).

    Examples
    --------
    >>> try:
    ...     xb.load_task("nope")
    ... except xb.UnknownNameError as exc:
    ...     print(isinstance(exc, KeyError))
    True
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(
            f"unknown {kind} {name!r}.{did_you_mean(name, self.valid)} Valid {kind} ids:"
            f" {', '.join(self.valid) or '(none)'}. Run `xai-bench list {kind}s` to see them."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` Did you mean 'a', 'b'?`` for the ids closest to ``name`` (empty when none is)."""
    import difflib

    valid = list(valid)
    ratio = {v: difflib.SequenceMatcher(None, name, v).ratio() for v in valid}
    best = max(ratio.values(), default=0.0)
    close = sorted((v for v in valid if ratio[v] >= max(0.6, best - 0.1)), key=ratio.__getitem__)
    close.reverse()
    tail = name.split(".")[-1]
    close += [v for v in valid if len(tail) >= 3 and tail in v and v not in close]
    return f" Did you mean {', '.join(repr(c) for c in close[:3])}?" if close else ""


class MissingDependencyError(XaiBenchError, ImportError):
    """An optional dependency is missing; names the extra to install.

    Parameters
    ----------
    module : str
        The module that could not be imported.
    extra : str
        The ``xai-bench[extra]`` that installs it.
    cause : BaseException, optional
        The original ImportError.

    Examples
    --------
    >>> issubclass(xb.MissingDependencyError, ImportError)
    True
    """

    def __init__(self, module: str, extra: str, cause: BaseException | None = None) -> None:
        self.module, self.extra = module, extra
        detail = f" ({cause})" if cause else ""
        super().__init__(
            f"xai-bench[{extra}] is not installed: could not import {module!r}{detail}."
            f" Install it with: pip install 'xai-bench[{extra}]'"
        )


class InvalidInputError(XaiBenchError, ValueError):
    """Bad data, model or parameter: the message says found / expected / fix.

    Parameters
    ----------
    found : str
        What was found.
    expected : str
        What was expected.
    fix : str
        How to fix it.

    Examples
    --------
    >>> try:
    ...     xb.list_metrics(family="speed")
    ... except xb.InvalidInputError as exc:
    ...     print(isinstance(exc, ValueError))
    True
    """

    def __init__(self, found: str, expected: str, fix: str) -> None:
        self.found, self.expected, self.fix = found, expected, fix
        super().__init__(f"{found}; expected {expected}. {fix}")


class IncompatibleError(XaiBenchError):
    """An explainer or metric cannot run on a task; a skip, not a failure.

    Examples
    --------
    >>> task = xb.load_task("synthetic.linear")
    >>> try:
    ...     xb.get_explainer("lime.text").explain(task, task.X[:2])
    ... except xb.IncompatibleError:
    ...     print("refused")
    refused
    """


class StoreError(XaiBenchError):
    """The results store could not be opened or written."""
