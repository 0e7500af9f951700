"""Inseq adapters: per-step Explanations on the tiny GPT, aligned with the generation task."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.adapters.inseq import METHODS, _chains
from xai_bench.errors import IncompatibleError

pytest.importorskip("inseq")
torch = pytest.importorskip("torch")

FAST = [m for m in METHODS if m != "discretized_integrated_gradients"]  # DIG: ~9 s, run once


@pytest.fixture(scope="session")
def gen():
    return xb.load_task("generation.tiny_gpt")


@pytest.fixture(scope="session")
def explanations(gen):
    return {m: xb.get_explainer(f"inseq.{m}").explain(gen, gen.X) for m in FAST}


def test_every_inseq_method_is_registered():
    import inseq

    offered = set(inseq.list_feature_attribution_methods())
    ours = {i.split(".", 1)[1] for i in xb.list_explainers() if i.startswith("inseq.")}
    assert ours == set(METHODS) and ours <= offered
    # the rest are documented exclusions (see adapters/inseq.py)
    assert offered - ours <= {
        "dummy",
        "reagent",
        "value_zeroing",
        "layer_integrated_gradients",
        "layer_deeplift",
    }


@pytest.mark.parametrize("method", FAST)
def test_per_step_explanations_are_aligned_with_the_units(gen, explanations, method):
    ex = explanations[method]
    valid = gen.valid_mask(gen.X)
    assert ex.attributions.shape == gen.X.shape and np.isfinite(ex.attributions).all()
    np.testing.assert_array_equal(ex.mask, valid)
    np.testing.assert_array_equal(ex.targets, gen.y)  # each unit explains its generated token
    assert (ex.attributions[~valid] == 0).all()
    assert not ex.degenerate().any()  # every unit got a real ranking over its prefix
    assert ex.meta["library"] == "inseq" and ex.explainer == f"inseq.{method}"
    assert ex.meta["model_calls"] >= len(gen.meta["prompts"]) and ex.meta["model_rows"] >= 1
    if method != "attention":
        # Inseq's own probability of each forced step equals the task's scorer
        p = gen.predict(gen.X)[np.arange(len(gen.X)), gen.y]
        np.testing.assert_allclose(ex.meta["step_probability"], p, atol=1e-5)


def test_integrated_gradients_completeness_per_step(gen):
    ex = xb.get_explainer("inseq.integrated_gradients", n_steps=128).explain(gen, gen.X)
    valid = gen.valid_mask(gen.X)
    # Inseq's baseline replaces every prefix token with <unk>
    baseline = np.where(valid, gen.tokenizer.unk_token_id, gen.X)
    rows = np.arange(len(gen.X))
    gap = gen.predict(gen.X)[rows, gen.y] - gen.predict(baseline)[rows, gen.y]
    np.testing.assert_allclose(ex.attributions.sum(1), gap, atol=5e-3)
    assert np.abs(gap).max() > 0.1


def test_attention_weights_are_exposed_for_a_head_view(gen, explanations):
    ex = explanations["attention"]
    cfg = gen.model.config
    valid = gen.valid_mask(gen.X)
    for row, weights in enumerate(ex.meta["attention"]):
        w = np.asarray(weights)
        n = int(valid[row].sum())
        assert w.shape == (cfg.n_layer, cfg.n_head, n)
        # each head's attention from the last prefix token is a distribution over the prefix
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(ex.attributions[row, :n], w.mean(axis=(0, 1)), atol=1e-9)
        assert len(ex.meta["tokens"][row]) == n


def test_attention_implementation_and_train_mode_are_restored(gen):
    before = gen.model.config._attn_implementation
    gen.model.train()
    try:
        xb.get_explainer("inseq.attention").explain(gen, gen.X[:2])
        assert gen.model.training and gen.model.config._attn_implementation == before
    finally:
        gen.model.eval()


def test_discretized_integrated_gradients_runs(gen):
    ex = xb.get_explainer("inseq.discretized_integrated_gradients", n_steps=8).explain(
        gen, gen.X[:3]
    )
    assert np.isfinite(ex.attributions).all() and not ex.degenerate().any()


def test_a_subset_of_units_and_one_at_a_time_agree(gen, explanations):
    ex = explanations["saliency"]
    e = xb.get_explainer("inseq.saliency")
    for row in (0, 4, 9):
        single = e.explain(gen, gen.X[row : row + 1])
        np.testing.assert_allclose(single.attributions[0], ex.attributions[row], atol=1e-6)


def test_chains_group_consecutive_steps(gen):
    chains = _chains(gen.X, gen.valid_mask(gen.X), gen.y)
    units = gen.meta["units"]
    for chain in chains:
        seqs = {units[r][0] for r in chain}
        assert len(seqs) == 1 and [units[r][1] for r in chain] == list(range(len(chain)))
    assert sorted(r for c in chains for r in c) == list(range(len(gen.X)))
    assert len(chains) == len(gen.meta["prompts"])


def test_stochastic_methods_are_seeded(gen):
    a = xb.get_explainer("inseq.gradient_shap", seed=3).explain(gen, gen.X[:3])
    b = xb.get_explainer("inseq.gradient_shap", seed=3).explain(gen, gen.X[:3])
    np.testing.assert_array_equal(a.attributions, b.attributions)


def test_inseq_on_a_non_generation_task_is_a_skip():
    with pytest.raises(IncompatibleError, match="not tabular"):
        task = xb.load_task("synthetic.linear")
        xb.get_explainer("inseq.saliency").explain(task, task.X[:2])


@pytest.mark.parametrize(
    "method", ["saliency", "integrated_gradients", "occlusion", "attention", "lime"]
)
def test_deletion_metric_scores_inseq_units(gen, explanations, method):
    metric = pytest.importorskip("xai_bench.metrics.deletion")
    del metric
    res = xb.get_metric("deletion_auc").score(gen, gen.X, explanations[method])
    scores = np.asarray(res.scores)
    assert scores.shape == (len(gen.X),) and np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_deletion_ranks_faithful_inseq_methods_above_random(gen, explanations):
    pytest.importorskip("xai_bench.metrics.deletion")
    metric = xb.get_metric("deletion_auc")
    rand = [
        metric.score(gen, gen.X, xb.get_explainer("random", seed=s).explain(gen, gen.X)).scores
        for s in range(3)
    ]
    floor = min(float(np.mean(r)) for r in rand)
    for method in ("integrated_gradients", "occlusion"):  # lower deletion AUC is better
        assert np.mean(metric.score(gen, gen.X, explanations[method]).scores) < floor - 0.02


def test_prefixes_past_the_position_limit_are_rejected_before_inseq(gen):
    from dataclasses import replace

    from xai_bench.errors import InvalidInputError

    limit = gen.model.config.n_positions
    row = np.full(limit + 4, gen.pad_token_id, dtype=np.int64)
    row[: limit + 1] = np.resize(gen.X[0][gen.valid_mask(gen.X)[0]], limit + 1)
    long_task = replace(gen, X=row[None], y=gen.y[:1])
    with pytest.raises(InvalidInputError, match="position limit"):
        xb.get_explainer("inseq.saliency").explain(long_task, long_task.X, targets=gen.y[:1])


def test_missing_inseq_names_the_extra(gen, monkeypatch):
    import sys

    from xai_bench.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "inseq", None)
    with pytest.raises(MissingDependencyError, match=r"xai-bench\[inseq\]"):
        xb.get_explainer("inseq.saliency").explain(gen, gen.X[:1])
