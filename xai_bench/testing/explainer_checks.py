"""``check_explainer``: the conformance checks every adapter (built-in or plugin) must pass."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explainer import Capabilities, check_compatible
from ..explanation import Explanation
from ..task import Modality, Task

REQUIRED_META = ("library", "output_space", "seed", "model_calls")
NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class ConformanceError(AssertionError):
    """An explainer or metric broke the contract; the message names every failed check.

    Examples
    --------
    >>> from xai_bench.testing import ConformanceError
    >>> issubclass(ConformanceError, AssertionError)
    True
    """


class _Fail(Exception):
    """One check failed; the message is for the adapter's author."""


class ConformanceReport(dict[str, str]):
    """Check name -> ``"passed"``, ``"failed: <reason>"`` or ``"skipped: <reason>"``.

    Examples
    --------
    >>> from xai_bench.testing import check_explainer
    >>> report = check_explainer(xb.get_explainer("random"), xb.load_task("synthetic.linear"))
    >>> isinstance(report, dict) and "declarations" in report
    True
    """

    label = ""

    @property
    def failed(self) -> dict[str, str]:
        """The failed checks and their reasons."""
        return {k: v[len("failed: ") :] for k, v in self.items() if v.startswith("failed")}

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_failures(self) -> ConformanceReport:
        """Raise a ConformanceError naming every failed check (for use in tests)."""
        if self.failed:
            lines = "\n".join(f"  [{k}] {v}" for k, v in self.failed.items())
            raise ConformanceError(f"{self.label}: {len(self.failed)} check(s) failed:\n{lines}")
        return self

    def run(self, check: str, fn: Callable[[], str | None]) -> bool:
        """Record ``check``: passed, failed with ``fn``'s complaint, or skipped with its reason."""
        try:
            skipped = fn()
        except _Fail as exc:
            self[check] = f"failed: {exc}"
            return False
        except Exception as exc:  # an adapter crash is a failed check, not a stop
            self[check] = f"failed: raised {type(exc).__name__}: {exc}"
            return False
        self[check] = f"skipped: {skipped}" if skipped else "passed"
        return True


def check_explainer(explainer: Any, task: Task, n: int = 4) -> ConformanceReport:
    """Check that ``explainer`` honours the adapter contract on ``task``; every check runs.

    Checks: declared name and capabilities; a clear ``IncompatibleError`` when the
    task is not supported; attribution shape, finiteness and targets; recorded
    metadata (library, version, output space, seed, model calls, seconds);
    determinism under a seed (and, for stochastic explainers, a different result
    for another seed); ``InvalidInputError`` on NaN, wrong-shaped and empty input.

    Parameters
    ----------
    explainer : Explainer
        A configured instance (keep its sample counts small: the checks call it ~7 times).
    task : Task
    n : int
        Samples explained per call.

    Returns
    -------
    ConformanceReport
        A dict: check name -> ``"passed"``, ``"failed: <reason>"`` or
        ``"skipped: <reason>"``. ``report.ok`` is True when nothing failed;
        ``report.raise_failures()`` raises a ``ConformanceError`` listing every failure.

    Examples
    --------
    >>> from xai_bench.testing import check_explainer
    >>> report = check_explainer(xb.get_explainer("oracle"), xb.load_task("synthetic.linear"))
    >>> "metadata" in report
    True
    """
    report = ConformanceReport()
    cls = type(explainer).__name__
    report.label = f"check_explainer({getattr(explainer, 'name', cls)} on {task.name})"
    caps: list[Capabilities] = []

    def declarations() -> None:
        caps.append(_declarations(explainer))

    if not report.run("declarations", declarations):
        return report
    X = np.asarray(task.X)[:n]
    reason = check_compatible(caps[0], task, explainer.name)
    if reason is not None:
        report.run(
            "incompatible",
            lambda: _expect(IncompatibleError, lambda: explainer.explain(task, X), "this task"),
        )
        report["explain"] = f"skipped: {reason}"
        return report
    first: list[Explanation] = []
    try:
        first.append(explainer.explain(task, X))
    except IncompatibleError as exc:  # found at run time (e.g. "needs a tree ensemble")
        report["explain"] = f"skipped: {exc}"
        return report
    except Exception as exc:
        report["explain"] = (
            f"failed: explain(task, task.X[:{n}]) raised {type(exc).__name__}: {exc}"
        )
    if first:
        e = first[0]
        report.run("shape_finite_targets", lambda: _explanation(e, explainer, task, X))
        report.run("metadata", lambda: _meta(e, explainer))
        report.run("same_seed_identical", lambda: _same_seed(e, explainer, task, X))
        if caps[0].global_only:
            report.run("global_only", lambda: _global(e))
        report.run("other_seed_differs", lambda: _other_seed(e, explainer, task, X, caps[0]))
    report.run("bad_inputs", lambda: _bad_inputs(explainer, task, X))
    return report


def _declarations(explainer: Any) -> Capabilities:
    name = getattr(type(explainer), "name", None)
    if not isinstance(name, str) or not NAME.match(name):
        raise _Fail(
            f"class attribute `name` is {name!r}; set it to a lower-case dotted id such as"
            " 'mylib.method'"
        )
    caps = getattr(type(explainer), "capabilities", None)
    if not isinstance(caps, Capabilities) or not caps.modalities:
        raise _Fail(
            f"class attribute `capabilities` is {caps!r}; set it to"
            " Capabilities(modalities=frozenset({Modality.TABULAR, ...}))"
        )
    if not callable(getattr(explainer, "explain", None)):
        raise _Fail("there is no explain(task, X, *, targets=None) method; subclass BaseExplainer")
    return caps


def _explanation(e: Any, explainer: Any, task: Task, X: np.ndarray) -> None:
    if not isinstance(e, Explanation):
        raise _Fail(f"explain returned {type(e).__name__}; return an xai_bench.Explanation")
    want = (len(X), *task.feature_shape)
    if e.attributions.shape != want:
        raise _Fail(
            f"attributions have shape {e.attributions.shape}; return one value per input"
            f" feature, shape {want}"
        )
    if not np.isfinite(e.attributions).all():
        bad = int((~np.isfinite(e.attributions)).sum())
        raise _Fail(f"{bad} attribution(s) are NaN or infinite; return finite values")
    if e.explainer != explainer.name:
        raise _Fail(f"Explanation.explainer is {e.explainer!r}; set it to {explainer.name!r}")
    n_out = task.n_outputs
    if e.targets.shape != (len(X),) or e.targets.min() < 0 or e.targets.max() >= n_out:
        raise _Fail(f"targets {e.targets.tolist()} are not class indices below {n_out}")
    if not np.array_equal(e.targets, task.predicted(X)):
        raise _Fail("without targets=, explain the predicted class (task.predicted(X))")
    # an explicit target: class 0, or for generation the recorded next tokens
    given = np.zeros(len(X), dtype=np.int64)
    if task.modality is Modality.GENERATION and task.y is not None:
        given = np.asarray(task.y)[: len(X)].astype(np.int64)
    if not np.array_equal(explainer.explain(task, X, targets=given).targets, given):
        raise _Fail(f"explain(..., targets={given.tolist()}) explained other targets; honour them")
    if task.modality in (Modality.TEXT, Modality.GENERATION):
        valid = task.valid_mask(X)
        if e.mask is None or not np.array_equal(e.mask, valid):
            raise _Fail("text attributions need mask == task.valid_mask(X)")


def _meta(e: Explanation, explainer: Any) -> None:
    missing = [k for k in REQUIRED_META if k not in e.meta]
    if missing:
        raise _Fail(f"Explanation.meta lacks {missing} (it has {sorted(e.meta)})")
    if e.meta["library"] != "xai-bench" and not e.meta.get("library_version"):
        raise _Fail("meta['library_version'] is missing; record the wrapped library's version")
    if not isinstance(e.meta["output_space"], str):
        raise _Fail(f"meta['output_space'] is {e.meta['output_space']!r}; give a string")
    if not (isinstance(e.seconds, float) and e.seconds >= 0):
        raise _Fail(f"Explanation.seconds is {e.seconds!r}; record the wall time in seconds")
    calls = e.meta["model_calls"]
    if not isinstance(calls, int) or calls < 0:
        raise _Fail(f"meta['model_calls'] is {calls!r}; count the model calls")
    params: dict[str, Any] = getattr(explainer, "get_params", dict)()
    if "seed" in params and e.meta["seed"] != params["seed"]:
        raise _Fail(
            f"meta['seed'] is {e.meta['seed']!r}, not the explainer's seed {params['seed']!r}"
        )


def _same_seed(first: Explanation, explainer: Any, task: Task, X: np.ndarray) -> None:
    again = explainer.explain(task, X)
    if not np.array_equal(first.attributions, again.attributions):
        diff = float(np.abs(first.attributions - again.attributions).max())
        raise _Fail(
            f"two calls with the same seed differ (max |diff| {diff:.3g}); draw every random"
            " number from the `seed` hyperparameter"
        )


def _global(first: Explanation) -> None:
    if not (first.attributions == first.attributions[:1]).all():
        raise _Fail("capabilities say global_only, but the rows differ; give every row the same")


def _other_seed(
    first: Explanation, explainer: Any, task: Task, X: np.ndarray, caps: Capabilities
) -> str | None:
    params: dict[str, Any] = getattr(explainer, "get_params", dict)()
    if not caps.stochastic:
        return "not stochastic"
    if "seed" not in params:
        raise _Fail("capabilities say stochastic, so __init__ must take a `seed` hyperparameter")
    other = type(explainer)(**{**params, "seed": int(params["seed"]) + 1}).explain(task, X)
    if np.allclose(first.attributions, other.attributions):
        raise _Fail("another seed gave the same result; use the seed, or declare stochastic=False")
    return None


def _bad_inputs(explainer: Any, task: Task, X: np.ndarray) -> None:
    nan = X.astype(np.float64, copy=True)
    nan.reshape(len(X), -1)[0, 0] = np.nan
    wrong = X.reshape(len(X), -1)[:, :-1]
    problems = []
    for what, bad in (("NaN input", nan), ("wrong-shaped input", wrong), ("empty input", X[:0])):
        try:
            _expect(InvalidInputError, partial(explainer.explain, task, bad), what)
        except _Fail as exc:
            problems.append(str(exc))
    if problems:
        raise _Fail("; ".join(problems))


def _expect(kind: type[Exception], call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except kind:
        return
    except Exception as exc:
        raise _Fail(
            f"on {what}: raised {type(exc).__name__}: {exc}; raise xai_bench.{kind.__name__}"
        ) from exc
    raise _Fail(f"on {what}: no error; raise xai_bench.{kind.__name__}")
