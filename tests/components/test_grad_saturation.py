"""The saturation diagnostic: zero on a linear model, large where saturation is planted."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import saturation, saturation_gap  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


@pytest.mark.parametrize("granularity", ["node", "edge"])
@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_no_gap_on_a_model_linear_in_its_writes(planted, granularity, direction):
    result = saturation(planted, direction, granularity=granularity)
    assert np.abs(result.gap).max() < 1e-6
    assert np.abs(result.exact).max() == pytest.approx(2.0)  # the effects are not all zero
    assert saturation_gap(planted, None, granularity=granularity).scores.max() < 1e-6


def test_the_gap_is_the_planted_saturation(saturated):
    """Attention logit 30: the routes through a1.h0's query lose their whole effect (2);
    the QK fix closes a0.h0's gap, not emb's (two steps upstream)."""
    task = saturated(30.0)
    gaps = saturation(task).per_component()
    assert gaps == pytest.approx({"emb": 2, "a0.h0": 2, "a0.h1": 0, "a1.h0": 0, "a1.h1": 0})
    star = saturation(task, estimate="atp_star").per_component()
    assert star == pytest.approx({"emb": 2, "a0.h0": 0, "a0.h1": 0, "a1.h0": 0, "a1.h1": 0})
    edges = saturation(task, granularity="edge").per_component()
    assert {e for e, g in edges.items() if g > 1e-6} == {"emb->a0.h0.v", "a0.h0->a1.h0.q"}


def test_the_gap_grows_with_the_sharpness(saturated):
    """Attention logit s: exact patching moves the whole pattern, AtP takes the softmax's
    slope at the clean pattern; a0.h0's gap rises to the full effect (2) as s grows."""
    gaps = [saturation(saturated(s)).per_component()["a0.h0"] for s in (0.5, 2.0, 8.0, 30.0)]
    assert gaps[0] < 0.01 and all(a < b for a, b in zip(gaps, gaps[1:], strict=False))
    assert gaps[-1] == pytest.approx(2.0)


def test_metric_shape_and_meta_are_plain(saturated):
    task = saturated(30.0)
    result = saturation_gap(task)
    np.testing.assert_allclose(result.scores, 4 / 5)  # |gap| 2 on two of five nodes
    assert result.params["per_component"]["a0.h0"] == pytest.approx(2.0)
    assert result.params["relative"] == pytest.approx(4 / 6)  # over mean |exact| 6 / 5
    meta = saturation(task).to_meta()
    json.dumps(meta)
    assert meta["components"][1] == "a0.h0" and meta["gap"][1] == pytest.approx(2.0)


def test_bad_choices_are_refused(planted):
    with pytest.raises(InvalidInputError, match="estimate='eap'"):
        saturation(planted, estimate="eap")
    with pytest.raises(InvalidInputError, match="granularity='neuron'"):
        saturation(planted, granularity="neuron")
