"""check_explainer on every built-in adapter x every built-in task it declares it supports."""

from __future__ import annotations

import numpy as np
import pytest
from _builtin_pairs import PROFILES, compatible, pairs, profile_of

import xai_bench as xb
from xai_bench.registry import BUILTIN_EXPLAINERS, BUILTIN_TASKS
from xai_bench.testing import ConformanceError, check_explainer

# small sample counts keep the whole matrix fast; the checks call each explainer ~7 times
FAST: dict[str, dict] = {
    "shap.kernel": {"n_samples": 64, "max_background": 8},
    "shap.permutation": {"max_background": 8},
    "shap.exact": {"max_background": 8},
    "shap.deep": {"max_background": 8},
    "shap.gradient": {"n_samples": 16, "max_background": 8},
    "shap.partition": {"max_evals": 40},
    "shap.tree": {"max_background": 20},
    "lime.tabular": {"n_samples": 100},
    "lime.image": {"n_samples": 60},
    "lime.text": {"n_samples": 60},
    "eli5.text": {"n_samples": 60},
    "eli5.permutation_importance": {"n_iter": 1, "max_rows": 30},
    "captum.integrated_gradients": {"n_steps": 8},
    "captum.layer_integrated_gradients": {"n_steps": 8},
    "captum.kernel_shap": {"n_samples": 32},
    "captum.lime": {"n_samples": 32},
    "captum.shapley_value_sampling": {"n_samples": 2},
    "captum.gradient_shap": {"n_samples": 4, "n_background": 4},
    "captum.deeplift_shap": {"n_background": 4},
}

RAN: dict[str, list[str]] = {}


def fast(explainer_id: str):
    known = xb.get_explainer(explainer_id).get_params()
    params = {k: v for k, v in FAST.get(explainer_id, {}).items() if k in known}
    return xb.get_explainer(explainer_id, **params)


@pytest.mark.parametrize(("explainer_id", "task_id"), pairs())
def test_builtin_conformance(explainer_id, task_id):
    task = xb.load_task(task_id)
    report = check_explainer(fast(explainer_id), task, n=2).raise_failures()
    assert "incompatible" not in report, f"stale profile of {task_id}: {report['explain']}"
    if "explain" in report:  # IncompatibleError found at run time (e.g. too many features)
        assert report["explain"].startswith("skipped")
        pytest.skip(report["explain"])
    RAN.setdefault(explainer_id, []).append(task_id)
    assert report["bad_inputs"] == "passed"


@pytest.mark.parametrize(
    "explainer_id",
    [e for e in sorted(BUILTIN_EXPLAINERS) if len(pairs([e])) < len(PROFILES)],
)
def test_incompatible_builtin_tasks_raise_incompatible_error(explainer_id):
    for task_id in sorted(PROFILES):
        if not compatible(explainer_id, task_id):
            report = check_explainer(fast(explainer_id), xb.load_task(task_id), n=2)
            assert report.raise_failures().get("incompatible") == "passed", f"{task_id}: {report}"


def test_every_builtin_id_runs_on_some_builtin_task():
    missing = []
    # component explainers run on component tasks: tests/components/test_run_components.py
    inputs = {e for e in BUILTIN_EXPLAINERS if not e.startswith("components.")}
    for explainer_id in sorted(inputs - set(RAN)):  # RAN: conformance runs
        for _, task_id in pairs([explainer_id]):
            task = xb.load_task(task_id)
            try:
                fast(explainer_id).explain(task, task.X[:2])
            except xb.IncompatibleError:
                continue
            RAN.setdefault(explainer_id, []).append(task_id)
            break
        else:
            missing.append(explainer_id)
    assert not missing, f"explainers that ran on no built-in task: {missing}"


# component tasks are not input-level tasks: tests/components covers them
INPUT_TASKS = {t for t in BUILTIN_TASKS if not t.startswith("components.")}


@pytest.mark.parametrize("task_id", sorted(INPUT_TASKS | set(PROFILES)))
def test_task_profiles_match_the_builtin_tasks(task_id):
    assert task_id in PROFILES, f"add {task_id} to PROFILES in tests/testing/_builtin_pairs.py"
    assert task_id in BUILTIN_TASKS, f"{task_id} in PROFILES is not a built-in task"
    assert profile_of(xb.load_task(task_id)) == PROFILES[task_id]


def test_check_explainer_catches_a_broken_adapter():
    task = xb.load_task("synthetic.linear")

    class Unseeded(xb.BaseExplainer):
        name = "broken.unseeded"
        capabilities = xb.Capabilities(modalities=frozenset({xb.Modality.TABULAR}))

        def __init__(self, seed: int = 0) -> None:
            self.seed = seed

        def _attribute(self, task, X, targets, scorer):
            return np.random.default_rng().standard_normal(X.shape)  # ignores its seed

    report = check_explainer(Unseeded(), task, n=2)
    assert report["same_seed_identical"].startswith(
        "failed: two calls with the same seed differ (max |diff| "
    )
    assert report["same_seed_identical"].endswith(
        "draw every random number from the `seed` hyperparameter"
    )
    assert {k for k, v in report.items() if v == "passed"} == {
        "declarations", "shape_finite_targets", "metadata", "bad_inputs"
    }  # fmt: skip
    assert report["other_seed_differs"] == "skipped: not stochastic"
    assert not report.ok and list(report.failed) == ["same_seed_identical"]
    with pytest.raises(ConformanceError, match=r"1 check\(s\) failed:\n  \[same_seed_identical\]"):
        report.raise_failures()

    class NoInputChecks(Unseeded):
        name = "broken.unchecked"

        def explain(self, task, X, *, targets=None):  # skips BaseExplainer's validation
            X = np.nan_to_num(np.asarray(X, dtype=float))
            return xb.Explanation(
                np.zeros(X.shape), np.zeros(len(X), int), self.name,
                meta={"library": "xai-bench", "output_space": "probability", "seed": 0,
                      "model_calls": 0},
            )  # fmt: skip

    # every check runs: the target bug does not hide the missing input checks
    report = check_explainer(NoInputChecks(), task, n=2)
    assert report["shape_finite_targets"].startswith("failed: ")
    assert report["bad_inputs"] == (
        "failed: on NaN input: no error; raise xai_bench.InvalidInputError; on wrong-shaped"
        " input: no error; raise xai_bench.InvalidInputError; on empty input: no error; raise"
        " xai_bench.InvalidInputError"
    )


def test_check_explainer_speaks_to_the_author_of_a_shape_bug():
    task = xb.load_task("synthetic.linear")

    class OneColumn(xb.BaseExplainer):
        name = "broken.one_column"
        capabilities = xb.Capabilities(modalities=frozenset({xb.Modality.TABULAR}))

        def __init__(self) -> None:
            pass

        def _attribute(self, task, X, targets, scorer):
            return np.ones((len(X), 1))

    report = check_explainer(OneColumn(), task, n=2)
    assert report["explain"].startswith(
        "failed: explain(task, task.X[:2]) raised InvalidInputError:"
    )
    assert "OneColumn._attribute must return one value per input feature" in report["explain"]
    assert "please report it" not in report["explain"]
    assert report["bad_inputs"] == "passed"  # checks that need no explanation still run
