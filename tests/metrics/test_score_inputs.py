"""A metric's score() checks what it is given: targets, column order, finite attributions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError

METRICS = ["deletion_auc", "comprehensiveness", "ablation_spearman", "infidelity", "precision_at_k"]


@pytest.fixture(scope="module")
def scored(linear_task):
    X = linear_task.X[:6]
    return X, xb.get_explainer("captum.integrated_gradients").explain(linear_task, X)


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("bad", [-1, 2, 7])
def test_targets_out_of_range_are_refused(linear_task, scored, name, bad):
    X, ex = scored
    targets = ex.targets.copy()
    targets[3] = bad  # -1 used to be read as class 1; 7 gave a raw IndexError
    with pytest.raises(InvalidInputError, match=rf"targets \[{bad}\] at rows \[3\].*\[0, 1\]"):
        xb.get_metric(name).score(linear_task, X, replace(ex, targets=targets))


def test_targets_of_the_wrong_length_are_refused(linear_task, scored):
    X, ex = scored
    with pytest.raises(InvalidInputError, match="5 targets for 6 attribution rows"):
        xb.get_metric("deletion_auc").score(linear_task, X, replace(ex, targets=ex.targets[:5]))


@pytest.mark.parametrize("name", METRICS)
def test_a_dataframe_is_read_by_column_name(linear_task, scored, name):
    X, ex = scored
    names = list(linear_task.feature_names)
    frame = pd.DataFrame(X, columns=names)
    metric = xb.get_metric(name)
    ref = metric.score(linear_task, X, ex).scores
    reversed_frame = frame[names[::-1]]  # the same data, columns in another order
    np.testing.assert_array_equal(metric.score(linear_task, reversed_frame, ex).scores, ref)
    with pytest.raises(InvalidInputError, match="unexpected"):
        metric.score(linear_task, frame.rename(columns={"x0": "age"}), ex)


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_attributions_are_refused_naming_the_rows(linear_task, scored, name, bad):
    X, ex = scored
    a = ex.attributions.copy()
    a[1, 2] = bad
    a[4, 0] = bad
    with pytest.raises(InvalidInputError, match=r"NaN or inf in 2 row\(s\): \[1, 4\]"):
        xb.get_metric(name).score(linear_task, X, replace(ex, attributions=a))
    # the other rows still score, as the message says
    rows = [0, 2, 3, 5]
    ok = xb.get_metric(name).score(linear_task, X[rows], ex.subset(rows))
    assert ok.scores.shape == (4,)
