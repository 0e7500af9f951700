"""``check_explainer``: the conformance checks every adapter (built-in or plugin) must pass."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explainer import Capabilities, check_compatible
from ..explanation import Explanation
from ..task import Modality, Task

REQUIRED_META = ("library", "output_space", "seed", "model_calls")
NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class ConformanceError(AssertionError):
    """An explainer broke the adapter contract; the message names the check and what was seen."""


def check_explainer(explainer: Any, task: Task, n: int = 4) -> dict[str, str]:
    """Check that ``explainer`` honours the adapter contract on ``task``.

    Checks: declared name and capabilities; a clear ``IncompatibleError`` when the
    task is not supported; attribution shape, finiteness and targets; recorded
    metadata (library, version, output space, seed, model calls, seconds);
    determinism under a seed (and, for stochastic explainers, a different result
    for another seed); ``InvalidInputError`` on NaN, wrong-shaped and empty input.

    Parameters
    ----------
    explainer : Explainer
        A configured instance (keep its sample counts small: the checks call it ~6 times).
    task : Task
    n : int
        Samples explained per call.

    Returns
    -------
    dict
        Check name -> ``"passed"`` or ``"skipped: <reason>"``.

    Raises
    ------
    ConformanceError
        (an ``AssertionError``) naming the first failed check.
    """
    label = f"{getattr(explainer, 'name', type(explainer).__name__)} on {task.name}"

    def fail(check: str, message: str) -> ConformanceError:
        return ConformanceError(f"check_explainer({label}) failed [{check}]: {message}")

    report: dict[str, str] = {}
    caps = _check_declarations(explainer, fail)
    report["declarations"] = "passed"

    X = np.asarray(task.X)[:n]
    reason = check_compatible(caps, task, explainer.name)
    if reason is not None:
        _expect(IncompatibleError, lambda: explainer.explain(task, X), "incompatible", fail)
        report["incompatible"] = "passed"
        return {**report, "explain": f"skipped: {reason}"}
    try:
        first = explainer.explain(task, X)
    except IncompatibleError as exc:  # found at run time (e.g. "needs a tree ensemble")
        return {**report, "explain": f"skipped: {exc}"}

    _check_explanation(first, explainer, task, X, fail)
    report["shape_finite_targets"] = "passed"
    _check_meta(first, explainer, fail)
    report["metadata"] = "passed"
    report.update(_check_determinism(first, explainer, task, X, caps, fail))
    _check_bad_inputs(explainer, task, X, fail)
    report["bad_inputs"] = "passed"
    return report


def _check_declarations(explainer: Any, fail: Callable[[str, str], Exception]) -> Capabilities:
    name = getattr(type(explainer), "name", None)
    if not isinstance(name, str) or not NAME.match(name):
        raise fail("name", f"class attribute `name` is {name!r}; expected e.g. 'mylib.method'")
    caps = getattr(type(explainer), "capabilities", None)
    if not isinstance(caps, Capabilities) or not caps.modalities:
        raise fail("capabilities", f"`capabilities` is {caps!r}; expected a Capabilities")
    if not callable(getattr(explainer, "explain", None)):
        raise fail("explain", "no explain(task, X, *, targets=None) method")
    return caps


def _check_explanation(
    e: Any, explainer: Any, task: Task, X: np.ndarray, fail: Callable[[str, str], Exception]
) -> None:
    if not isinstance(e, Explanation):
        raise fail("type", f"explain returned {type(e).__name__}; expected an Explanation")
    want = (len(X), *task.feature_shape)
    if e.attributions.shape != want:
        raise fail("shape", f"attributions of shape {e.attributions.shape}; expected {want}")
    if not np.isfinite(e.attributions).all():
        raise fail("finite", f"{int((~np.isfinite(e.attributions)).sum())} non-finite values")
    if e.explainer != explainer.name:
        raise fail("id", f"Explanation.explainer is {e.explainer!r}, not {explainer.name!r}")
    n_out = task.n_outputs
    if e.targets.shape != (len(X),) or e.targets.min() < 0 or e.targets.max() >= n_out:
        raise fail("targets", f"targets {e.targets.tolist()} for {n_out} outputs")
    if not np.array_equal(e.targets, task.predicted(X)):
        raise fail("targets", "without targets=, the predicted class must be explained")
    # an explicit target: class 0, or for generation the recorded next tokens
    given = np.zeros(len(X), dtype=np.int64)
    if task.modality is Modality.GENERATION and task.y is not None:
        given = np.asarray(task.y)[: len(X)].astype(np.int64)
    if not np.array_equal(explainer.explain(task, X, targets=given).targets, given):
        raise fail("targets", f"explicit targets={given.tolist()} were not the targets explained")
    if task.modality in (Modality.TEXT, Modality.GENERATION):
        valid = task.valid_mask(X)
        if e.mask is None or not np.array_equal(e.mask, valid):
            raise fail("mask", "text attributions need mask == task.valid_mask(X)")


def _check_meta(e: Explanation, explainer: Any, fail: Callable[[str, str], Exception]) -> None:
    missing = [k for k in REQUIRED_META if k not in e.meta]
    if missing:
        raise fail("metadata", f"meta lacks {missing}; has {sorted(e.meta)}")
    if e.meta["library"] != "xai-bench" and not e.meta.get("library_version"):
        raise fail("metadata", "meta['library_version'] is missing for a wrapped library")
    if not isinstance(e.meta["output_space"], str):
        raise fail("metadata", f"output_space {e.meta['output_space']!r} is not a string")
    if not (isinstance(e.seconds, float) and e.seconds >= 0):
        raise fail("metadata", f"seconds={e.seconds!r}; expected the wall time in seconds")
    calls = e.meta["model_calls"]
    if not isinstance(calls, int) or calls < 0:
        raise fail("metadata", f"model_calls={calls!r}; expected a count")
    params: dict[str, Any] = getattr(explainer, "get_params", dict)()
    if "seed" in params and e.meta["seed"] != params["seed"]:
        raise fail("metadata", f"meta seed {e.meta['seed']!r} != the explainer's seed")


def _check_determinism(
    first: Explanation,
    explainer: Any,
    task: Task,
    X: np.ndarray,
    caps: Capabilities,
    fail: Callable[[str, str], Exception],
) -> dict[str, str]:
    out = {}
    again = explainer.explain(task, X)
    if not np.array_equal(first.attributions, again.attributions):
        diff = float(np.abs(first.attributions - again.attributions).max())
        raise fail("determinism", f"two calls with the same seed differ (max |diff| {diff:.3g})")
    out["same_seed_identical"] = "passed"
    if caps.global_only and not (first.attributions == first.attributions[:1]).all():
        raise fail("global_only", "a global explainer gave different rows")
    params: dict[str, Any] = getattr(explainer, "get_params", dict)()
    if not caps.stochastic:
        out["other_seed_differs"] = "skipped: not stochastic"
    elif "seed" not in params:
        raise fail("seed", "stochastic explainers must take a `seed` hyperparameter")
    else:
        other = type(explainer)(**{**params, "seed": int(params["seed"]) + 1}).explain(task, X)
        if np.allclose(first.attributions, other.attributions):
            raise fail("seed", "a stochastic explainer gave the same result for another seed")
        out["other_seed_differs"] = "passed"
    return out


def _check_bad_inputs(
    explainer: Any, task: Task, X: np.ndarray, fail: Callable[[str, str], Exception]
) -> None:
    nan = X.astype(np.float64, copy=True)
    nan.reshape(len(X), -1)[0, 0] = np.nan
    _expect(InvalidInputError, lambda: explainer.explain(task, nan), "NaN input", fail)
    wrong = X.reshape(len(X), -1)[:, :-1]
    _expect(InvalidInputError, lambda: explainer.explain(task, wrong), "wrong shape", fail)
    _expect(InvalidInputError, lambda: explainer.explain(task, X[:0]), "empty input", fail)


def _expect(
    kind: type[Exception],
    call: Callable[[], Any],
    check: str,
    fail: Callable[[str, str], Exception],
) -> None:
    try:
        call()
    except kind:
        return
    except Exception as exc:
        raise fail(check, f"raised {type(exc).__name__}: {exc}; expected {kind.__name__}") from exc
    raise fail(check, f"no error; expected {kind.__name__}")
