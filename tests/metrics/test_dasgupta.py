"""Sufficiency after Dasgupta et al.: a closed form with identical explanations, a
transcription of Quantus 0.6's batch computation (scoring the reference set itself), batch
invariance, and its name apart from ERASER's sufficiency."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from _metric_toys import assert_batch_invariant
from scipy.spatial.distance import cdist

import xai_bench as xb
from xai_bench import BaseExplainer, Capabilities, Modality
from xai_bench.metrics.dasgupta import sufficiency_dasgupta
from xai_bench.registry import unregister_explainer


def quantus_sufficiency(predict, x, a, threshold=0.6):
    """Plain transcription of Quantus 0.6 Sufficiency (abs=True, normalise_by_negative on
    the attributions and on the distance matrix, seuclidean, neighbours j != i)."""
    b = len(x)
    a = np.abs(a.reshape(b, -1))
    a = a / a.max(axis=1, keepdims=True)
    dist = cdist(a, a, "seuclidean", V=None)
    dist = dist / dist.max()
    sim = dist <= threshold
    pred = np.argmax(predict(x), axis=1)
    out = []
    for i in range(b):
        near = np.flatnonzero(sim[i])
        near = near[near != i]
        out.append(0 if len(near) == 0 else np.sum(pred[near] == pred[i]) / len(near))
    return np.array(out)


@pytest.mark.parametrize("threshold", [0.6, 0.8])
def test_equals_quantus_transcription_on_the_reference_batch(mlp_task, threshold):
    X = mlp_task.X[:24]
    ex = xb.get_explainer("captum.input_x_gradient").explain(mlp_task, X)
    res = sufficiency_dasgupta(mlp_task, X, ex, threshold=threshold, n_reference=24)
    ref = quantus_sufficiency(mlp_task.predict, X, ex.attributions, threshold)
    np.testing.assert_allclose(res.scores, ref, rtol=1e-12)
    assert (res.extra["neighbours"] > 0).any()


class Constant(BaseExplainer):
    """The same attribution for every input: every explanation distance is 0."""

    name: ClassVar[str] = "test.constant"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=frozenset(Modality))

    def _attribute(self, task, X, targets, scorer):
        return np.broadcast_to(np.arange(1.0, X.shape[1] + 1), X.shape).copy()


@pytest.fixture
def constant():
    xb.register_explainer(Constant)
    yield Constant
    unregister_explainer(Constant.name)


def test_identical_explanations_make_every_reference_a_neighbour(linear_task, constant):
    X = linear_task.X[:30]
    ex = Constant().explain(linear_task, X)
    res = sufficiency_dasgupta(linear_task, X[:5], ex.subset(slice(0, 5)), n_reference=30)
    classes = linear_task.predicted(X)
    expected = [(np.sum(classes == classes[i]) - 1) / 29 for i in range(5)]
    np.testing.assert_allclose(res.scores, expected)
    np.testing.assert_array_equal(res.extra["neighbours"], 29)


def test_batch_invariance_name_and_skips(mlp_task):
    X = mlp_task.X[:6]
    ex = xb.get_explainer("captum.input_x_gradient").explain(mlp_task, X)
    metric = xb.get_metric("sufficiency_dasgupta", n_reference=16, threshold=0.8)
    assert_batch_invariant(metric, mlp_task, X, ex)
    assert metric.info.higher_is_better and not xb.get_metric("sufficiency").info.higher_is_better
    assert "ERASER" in metric.info.description and "Dasgupta" in metric.info.reference
    reg = xb.load_task("synthetic.regression")
    rex = xb.get_explainer("random").explain(reg, reg.X[:2])
    with pytest.raises(xb.IncompatibleError, match="predicted classes"):
        metric.score(reg, reg.X[:2], rex)
