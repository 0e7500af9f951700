"""The ablation masker: all kept = clean run, none kept = the ablated run, chunk-invariant."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import ABLATIONS, AblationMasker  # noqa: E402
from xai_bench.components.masker import record  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


def _behaviour(task, tokens):
    with torch.no_grad():
        return task.score(task.model(tokens), torch.arange(task.n_examples)).double().numpy()


@pytest.mark.parametrize("ablation", ABLATIONS)
def test_all_kept_is_the_clean_run(random_task, ablation):
    keep = np.ones((1, len(random_task.space)), bool)
    out = AblationMasker(ablation).evaluate(random_task, keep)
    np.testing.assert_array_equal(out[0], _behaviour(random_task, random_task.clean))


def test_none_kept_is_the_counterfactual_run(random_task, planted):
    for task in (random_task, planted):
        keep = np.zeros((1, len(task.space)), bool)
        out = AblationMasker("patching").evaluate(task, keep)
        np.testing.assert_allclose(out[0], _behaviour(task, task.counterfactual), rtol=0, atol=1e-5)
    assert (out[0] == -1).all() and (_behaviour(planted, planted.clean) == 1).all()


def test_none_kept_under_zero_and_mean_ablation(random_task):
    task = random_task
    keep = np.zeros((1, len(task.space)), bool)
    np.testing.assert_array_equal(AblationMasker("zero").evaluate(task, keep), 0.0)
    rows = torch.arange(task.n_examples)
    none = torch.zeros((task.n_examples, len(task.space)), dtype=torch.bool)
    _, writes = record(task, task.clean)
    for ablation, dims in (("mean", (0, 1)), ("mean_positional", (0,))):
        masker = AblationMasker(ablation)
        with torch.no_grad():
            logits = masker.forward(task, rows, none, masker.values(task))
        # every write is its mean: the residual is the sum of the mean writes, per example alike
        resid = sum(w.mean(dim=dims) if w.ndim == 3 else w.mean(dim=dims).sum(-2) for w in writes)
        expected = (resid @ task.model.W_U).expand_as(logits)
        torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_one_dropped_head_matches_a_hand_written_patch(random_task):
    """Drop a0.h1 by patching: the same as a hook writing the counterfactual head slice."""
    site = random_task.space.sites[1]
    with torch.no_grad():
        cf = []
        h = site.hook.register_forward_hook(lambda m, i, o: cf.append(o))
        random_task.model(random_task.counterfactual)
        h.remove()

        def patch(m, i, o):
            o = o.clone()
            o[:, :, 1] = cf[0][:, :, 1]
            return o

        h = site.hook.register_forward_hook(patch)
        expected = _behaviour(random_task, random_task.clean)
        h.remove()
    keep = np.ones((1, len(random_task.space)), bool)
    keep[0, random_task.space.index("a0.h1")] = False
    np.testing.assert_allclose(AblationMasker().evaluate(random_task, keep)[0], expected, atol=1e-6)
    assert not np.allclose(expected, _behaviour(random_task, random_task.clean))


def test_chunking_does_not_change_the_numbers(random_task):
    rng = np.random.default_rng(1)
    keep = rng.random((7, len(random_task.space))) < 0.5
    big = AblationMasker(chunk_rows=4096).evaluate(random_task, keep)
    small = AblationMasker(chunk_rows=5).evaluate(random_task, keep)
    assert big.shape == (7, random_task.n_examples)
    np.testing.assert_allclose(small, big, atol=1e-6)


@pytest.mark.parametrize(
    ("kw", "match"),
    [(dict(ablation="resample"), "ablation='resample'"), (dict(chunk_rows=0), "chunk_rows=0")],
)
def test_bad_parameters_are_refused(kw, match):
    with pytest.raises(InvalidInputError, match=match):
        AblationMasker(**kw)


def test_keep_mask_of_the_wrong_width_is_refused(planted):
    with pytest.raises(InvalidInputError, match=r"keep-mask of shape \(2, 3\)"):
        AblationMasker().evaluate(planted, np.ones((2, 3), bool))
