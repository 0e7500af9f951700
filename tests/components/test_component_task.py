"""ComponentTask: inputs checked where they enter, behaviour computed as documented."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import ComponentTask, planted_model  # noqa: E402
from xai_bench.errors import InvalidInputError, UnknownNameError  # noqa: E402


def _task(**kw):
    args = dict(
        name="t",
        model=planted_model(),
        clean=np.zeros((2, 6), int),
        counterfactual=np.ones((2, 6), int),
        answers=np.array([[0, 1], [0, 1]]),
    )
    return ComponentTask(**{**args, **kw})


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(counterfactual=np.ones((2, 5), int)), "counterfactual inputs of shape"),
        (dict(answers=np.array([0, 1])), "answers of shape"),
        (dict(clean=np.full((2, 6), 8)), r"clean token ids in \[8, 8\]"),
        (dict(clean=np.zeros((2, 6))), "integer array"),
        (dict(clean=np.zeros((2, 7), int), counterfactual=np.zeros((2, 7), int)), "context of 6"),
        (dict(behaviour="kl"), "behaviour='kl'"),
    ],
)
def test_bad_inputs_are_refused_with_the_fix(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        _task(**kw)


def test_unknown_ground_truth_lists_the_valid_names():
    with pytest.raises(UnknownNameError, match="a0.h0"):
        _task(ground_truth=("a9.h9",))


def test_behaviours_are_logit_difference_and_probability():
    logits = torch.tensor([[[0.0, 2.0, 1.0]], [[3.0, 0.0, 0.0]]])
    rows = torch.tensor([0, 1])
    task = _task(answers=np.array([[1, 2], [1, 0]]))
    torch.testing.assert_close(task.score(logits, rows), torch.tensor([1.0, -3.0]))
    prob = _task(answers=np.array([[1, 2], [1, 0]]), behaviour="prob").score(logits, rows)
    torch.testing.assert_close(
        prob, torch.tensor([np.e**2 / (1 + np.e**2 + np.e), 1 / (np.e**3 + 2)]).float()
    )


def test_swapped_task_runs_from_the_counterfactual(planted):
    swapped = planted.swapped()
    assert torch.equal(swapped.clean, planted.counterfactual)
    assert torch.equal(swapped.answers, planted.answers)
