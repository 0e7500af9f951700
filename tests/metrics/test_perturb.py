"""The masking engine: ranking, grids, dedup, chunking, maskers, padding, every modality."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench import Modality, Task
from xai_bench.metrics.deletion import deletion_auc, insertion_auc
from xai_bench.metrics.maskers import (
    BackgroundMasker,
    ConstantMasker,
    ImputeMasker,
    TokenMasker,
    resolve_masker,
    sample_rngs,
)
from xai_bench.metrics.perturb import grid_counts, masked_scores, rank_positions, stepwise_inputs
from xai_bench.task import CountingScorer

PAD, MASK, EVIDENCE = 0, 1, 7


def text_task(n: int = 6, L: int = 8) -> Task:
    """p(class 1) = 0.2 + 0.6 * [token 7 present] + 0.1 * [token 8 present]; right padding."""
    rng = np.random.default_rng(0)
    X = rng.integers(2, 10, size=(n, L))
    lengths = np.array([8, 5, 3, 8, 6, 2])[:n]
    X[np.arange(L)[None, :] >= lengths[:, None]] = PAD

    def predict_proba(batch):
        b = np.asarray(batch)
        p = 0.2 + 0.6 * (b == EVIDENCE).any(1) + 0.1 * (b == 8).any(1)
        return np.column_stack([1 - p, p])

    return Task(
        name="toy.text", modality=Modality.TEXT, X=X, predict_proba=predict_proba,
        pad_token_id=PAD, mask_token_id=MASK,
    )  # fmt: skip


def test_grid_counts_round_half_up():
    counts = grid_counts(np.array([0, 0.01, 0.05, 0.1, 0.5, 1.0]), np.array([30, 10]))
    np.testing.assert_array_equal(counts, [[0, 0, 2, 3, 15, 30], [0, 0, 1, 1, 5, 10]])


def test_padding_ranked_last_and_never_removed():
    task = text_task()
    ex = explanation(np.ones(task.X.shape), 1, mask=task.valid_mask(task.X))
    pos, n_valid = rank_positions(ex, X=task.X)
    np.testing.assert_array_equal(n_valid, [8, 5, 3, 8, 6, 2])
    assert (pos[~ex.flat_mask()] == 8).all()
    for i, k in enumerate(n_valid):
        assert sorted(pos[i, :k]) == list(range(k))
    seen = []

    def spy(batch):
        seen.append(np.asarray(batch).copy())
        return task.predict(batch)

    res = deletion_auc(task, task.X, ex, predict=spy)
    batch = np.concatenate(seen)
    # rows come sample by sample, one per distinct count 0..n_valid
    sample = np.repeat(np.arange(6), n_valid + 1)
    assert len(batch) == len(sample)
    np.testing.assert_array_equal(batch == PAD, task.X[sample] == PAD)
    n_masked = (batch == MASK).sum(1)
    np.testing.assert_array_equal(n_masked, np.concatenate([np.arange(k + 1) for k in n_valid]))
    assert res.curves.shape == (6, 9)
    full = deletion_auc(task, task.X, ex, steps=4)
    assert np.allclose(full.curves[:, -1], 0.2)  # only mask tokens left


def test_text_deletion_curve_and_oracle_on_evidence_token():
    task = text_task()
    valid = task.valid_mask(task.X)
    good = explanation((task.X == EVIDENCE) * 1.0, 1, mask=valid)
    res = deletion_auc(task, task.X, good)
    # on full-length rows with one evidence token, removing it first drops p by 0.6
    one = ((task.X == EVIDENCE).sum(1) == 1) & valid.all(1)
    assert one.sum() >= 1
    np.testing.assert_allclose(res.curves[one, 0] - res.curves[one, 1], 0.6)
    assert np.isfinite(res.scores).all()
    deleted = deletion_auc(task, task.X, good, baseline=TokenMasker(mode="delete"))
    np.testing.assert_allclose(deleted.curves[:, -1], 0.2)
    assert deleted.params["baseline"] == "token(token='mask', mode='delete')"


def test_token_delete_masker_shifts_left_and_pads():
    task = text_task()
    fill = TokenMasker(mode="delete").bind(task, task.X)
    rows = np.array([[5, 6, 7, 8, 0, 0]])
    out = fill(rows, np.array([[False, True, False, False, False, False]]), np.array([0]))
    np.testing.assert_array_equal(out, [[5, 7, 8, 0, 0, 0]])
    rep = TokenMasker(token="pad").bind(task, task.X)(rows, rows == 6, np.array([0]))
    np.testing.assert_array_equal(rep, [[5, 0, 7, 8, 0, 0]])


def test_dedup_and_one_call_per_mode():
    task = additive_task(X=np.ones((3, 3)))
    ex = explanation([[3, 2, 1]] * 3)
    pos, nv = rank_positions(ex)
    counter = CountingScorer(task.predict)
    counts = np.array([[0, 1, 1, 3, 3]] * 3)
    fill = ConstantMasker().bind(task, task.X)
    p = masked_scores(task, task.X, ex.targets, pos, counts, fill, predict=counter)
    assert counter.calls == 1 and counter.rows == 9  # 3 distinct counts x 3 samples
    np.testing.assert_allclose(p[0], [1, 0.5, 0.5, 0, 0])


def test_background_masker_is_seeded_and_ends_at_the_drawn_row(mlp_task):
    X = mlp_task.X[:10]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    a = deletion_auc(mlp_task, X, ex, steps=5, baseline="background")
    b = deletion_auc(mlp_task, X, ex, steps=5, baseline=BackgroundMasker(seed=0))
    np.testing.assert_array_equal(a.curves, b.curves)
    pick = [rng.integers(0, len(mlp_task.background)) for rng in sample_rngs(X, 0)]
    assert len(set(pick)) > 1  # different samples draw different rows
    c = deletion_auc(mlp_task, X, ex, steps=5, baseline=BackgroundMasker(seed=1))
    assert not np.allclose(c.curves[:, -1], a.curves[:, -1])  # the seed matters
    end = mlp_task.predict(mlp_task.background[pick])[np.arange(10), ex.targets]
    np.testing.assert_allclose(a.curves[:, -1], end)


def test_impute_masker_tabular_is_the_gaussian_conditional_mean():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 1.0]])
    bg = rng.multivariate_normal([1.0, -1.0, 0.0], cov, size=20000)
    task = additive_task(X=np.array([[2.0, 0.0, 0.0]]))
    task = Task(**{**task.__dict__, "background": bg})
    fill = ImputeMasker(noise=0.0, ridge=0.0).bind(task, task.X)
    out = fill(task.X, np.array([[False, True, False]]), np.array([0]))
    mu, S = bg.mean(0), np.cov(bg, rowvar=False)
    expected = mu[1] + S[1, [0, 2]] @ np.linalg.solve(
        S[np.ix_([0, 2], [0, 2])], task.X[0, [0, 2]] - mu[[0, 2]]
    )
    np.testing.assert_allclose(out[0], [2.0, expected, 0.0], atol=1e-9)
    assert abs(expected - (-1 + 0.8 * 1.0)) < 0.05  # close to the true conditional mean


def test_impute_masker_image_fills_from_neighbours():
    img = np.full((1, 1, 5, 5), 0.7)
    task = Task(
        name="toy.img",
        modality=Modality.IMAGE,
        X=img,
        predict_proba=lambda b: np.full((len(b), 2), 0.5),
    )
    fill = ImputeMasker(noise=0.0, iterations=200).bind(task, img.reshape(1, -1))
    removed = np.zeros((1, 25), bool)
    removed[0, [6, 7, 12]] = True
    out = fill(img.reshape(1, -1), removed, np.array([0]))
    np.testing.assert_allclose(out, 0.7, atol=1e-6)  # a constant image stays constant
    ramp = np.tile(np.arange(5.0), (5, 1))[None, None]
    out = fill(ramp.reshape(1, -1), removed, np.array([0])).reshape(5, 5)
    assert 0.9 < out[1, 1] < 1.1 and 1.8 < out[1, 2] < 2.2  # linear-ish interpolation
    noisy = ImputeMasker(noise=0.5, seed=1).bind(task, img.reshape(1, -1))(
        img.reshape(1, -1), removed, np.array([0])
    )
    assert not np.allclose(noisy.reshape(-1)[[6, 7, 12]], 0.7)
    np.testing.assert_allclose(np.delete(noisy.reshape(-1), [6, 7, 12]), 0.7)


def test_impute_masker_in_a_curve_and_unsupported_modality(mlp_task):
    X = mlp_task.X[:6]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    r = deletion_auc(mlp_task, X, ex, steps=3, baseline="impute")
    assert r.params["baseline"].startswith("impute(") and np.isfinite(r.scores).all()
    with pytest.raises(xb.IncompatibleError):
        deletion_auc(text_task(), text_task().X, explanation(np.ones((6, 8))), baseline="impute")
    with pytest.raises(xb.IncompatibleError, match="token ids"):
        deletion_auc(text_task(), text_task().X, explanation(np.ones((6, 8))), baseline="mean")


def test_resolve_masker_records_constants():
    assert resolve_masker(0.5).get_params() == {"value": 0.5}
    assert isinstance(resolve_masker("background"), BackgroundMasker)
    m = ImputeMasker(noise=0.2)
    assert resolve_masker(m) is m


@pytest.mark.parametrize("name", ["digits.cnn", "sentiment.transformer", "generation.tiny_gpt"])
def test_curves_on_real_image_text_generation_tasks(name):
    task = xb.load_task(name)
    X = task.X[:6]
    ex = xb.get_explainer("random").explain(task, X)
    d = xb.get_metric("deletion_auc", steps=8).score(task, X, ex)
    ins = xb.get_metric("insertion_auc", steps=8).score(task, X, ex)
    p = task.predict(X)[np.arange(6), ex.targets]
    np.testing.assert_allclose(d.curves[:, 0], p, atol=1e-6)
    np.testing.assert_allclose(ins.curves[:, -1], p, atol=1e-6)
    base = np.array(X, copy=True)
    valid = task.valid_mask(X)
    base[valid] = np.broadcast_to(task.removal_value(), X.shape)[valid]
    pb = task.predict(base)[np.arange(6), ex.targets]
    np.testing.assert_allclose(d.curves[:, -1], pb, atol=1e-6)
    np.testing.assert_allclose(ins.curves[:, 0], pb, atol=1e-6)


def test_insertion_on_toy_matches_closed_form_with_per_sample_lengths():
    task = text_task()
    ex = explanation(
        (task.X == EVIDENCE) * 1.0 + (task.X == 8) * 0.5, 1, mask=task.valid_mask(task.X)
    )
    r = insertion_auc(task, task.X, ex, steps=task.X.shape[1])
    has7 = (task.X == EVIDENCE).any(1)
    assert (r.curves[has7, -1] >= 0.8 - 1e-12).all()
    np.testing.assert_allclose(r.curves[:, 0], 0.2)


def test_text_explanation_without_mask_takes_padding_from_the_task():
    task = text_task()
    valid = task.valid_mask(task.X)
    attr = np.where(valid, 1.0, 5.0)  # padding has the largest attribution
    with_mask = deletion_auc(task, task.X, explanation(attr, 1, mask=valid))
    without = deletion_auc(task, task.X, explanation(attr, 1))
    np.testing.assert_array_equal(with_mask.curves, without.curves)
    np.testing.assert_array_equal(without.flags["degenerate"], True)  # equal on real tokens
    for name in ("ablation_spearman", "faithfulness_correlation", "comprehensiveness"):
        a = xb.get_metric(name).score(task, task.X, explanation(attr, 1, mask=valid))
        b = xb.get_metric(name).score(task, task.X, explanation(attr, 1))
        np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize(
    ("task_id", "baseline"),
    [
        ("breast_cancer.mlp", "background"),
        ("breast_cancer.mlp", "impute"),
        ("digits.cnn", "impute"),
    ],
)
def test_random_maskers_do_not_depend_on_batching(task_id, baseline):
    # a sample's background row / imputation noise is seeded by its content, so it gets the
    # same curve alone, in a batch, or at another position in the batch
    task = xb.load_task(task_id)
    X = task.X[:6]
    ex = xb.get_explainer("random", seed=2).explain(task, X)
    metric = xb.get_metric("deletion_auc", steps=8, baseline=baseline)
    whole = metric.score(task, X, ex)
    alone = [metric.score(task, X[i : i + 1], ex.subset(slice(i, i + 1))) for i in range(6)]
    np.testing.assert_allclose(np.concatenate([r.curves for r in alone]), whole.curves, atol=1e-6)
    order = np.arange(6)[::-1]
    flipped = metric.score(task, X[order], ex.subset(order))
    np.testing.assert_allclose(flipped.curves[::-1], whole.curves, atol=1e-6)


@pytest.mark.parametrize("keep_top", [False, True])
@pytest.mark.parametrize("per_sample", [False, True])
def test_stepwise_inputs_equal_selecting_every_step_from_scratch(keep_top, per_sample):
    """The incremental grid is bit-for-bit the direct selection, with padding, a first
    count above zero and several features per step."""
    rng = np.random.default_rng(3)
    m, F = 7, 9
    X = rng.standard_normal((m, F)).astype(np.float32)
    valid = np.ones((m, F), dtype=bool)
    valid[[1, 4], -3:] = False  # padding: ranked last, never removed nor restored
    ex = xb.Explanation(rng.standard_normal((m, F)), np.zeros(m, int), "t", mask=valid)
    positions, _ = rank_positions(ex)
    rep = rng.standard_normal((m, F) if per_sample else F).astype(np.float32)
    counts = np.array([1, 2, 4, 5, 6], dtype=np.int32)
    grid = stepwise_inputs(X, rep, positions, valid, counts, keep_top).reshape(len(counts), m, F)
    for s, c in enumerate(counts):
        top = positions < c
        removed = (valid & ~top) if keep_top else top
        expected = np.where(removed, np.broadcast_to(rep, (m, F)), X)
        np.testing.assert_array_equal(grid[s], expected)
    assert (grid[:, ~valid] == np.broadcast_to(X[~valid], grid[:, ~valid].shape)).all()


@pytest.mark.parametrize("baseline", ["default", "min", "background"])
def test_elementwise_maskers_score_like_their_fill(mlp_task, baseline):
    """The engine's step-by-step grid (elementwise maskers) scores exactly what the masker's
    own fill gives for each curve point."""
    X = mlp_task.X[:12]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    pos, nv = rank_positions(ex, X=X)
    counts = grid_counts(np.linspace(0, 1, 8), nv)
    fill = resolve_masker(baseline).bind(mlp_task, X)
    assert hasattr(fill, "replacement")
    for keep_top in (False, True):
        got = masked_scores(mlp_task, X, ex.targets, pos, counts, fill, keep_top=keep_top)
        for s in range(counts.shape[1]):
            top = pos < counts[:, s : s + 1]
            removed = ~top if keep_top else top
            rows = fill(X.copy(), removed, np.arange(len(X)))
            p = mlp_task.predict(rows)[np.arange(len(X)), ex.targets]
            np.testing.assert_allclose(got[:, s], p, rtol=0, atol=1e-7)
