"""EAP-IG on edges: both paths, convergence to exact edge patching, completeness, cost."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ActivationPatching,
    ComponentTask,
    EdgeAttributionPatching,
    EdgeAttributionPatchingIG,
    TinyTransformer,
    planted_task,
)
from xai_bench.components._passes import count_passes  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402

VARIANTS = ("inputs", "activations")


@pytest.fixture(scope="module")
def planted_prob():
    """The planted model (linear in its writes) under a nonlinear behaviour, softmax prob."""
    return planted_task(n_examples=16, seed=0, behaviour="prob")


@pytest.fixture(scope="module")
def smooth_prob():
    """A random attention-only model (smooth, nonlinear) scored by probability."""
    torch.manual_seed(0)
    model = TinyTransformer(vocab=10, n_ctx=5, d_model=16, n_layers=2, n_heads=3, d_head=4)
    rng = np.random.default_rng(0)
    return ComponentTask(
        name="smooth",
        model=model,
        clean=rng.integers(0, 10, (6, 5)),
        counterfactual=rng.integers(0, 10, (6, 5)),
        answers=rng.integers(0, 10, (6, 2)),
        behaviour="prob",
    )


def _behaviour(task, tokens):
    with torch.no_grad():
        return task.score(task.model(tokens), torch.arange(task.n_examples)).double().numpy()


@pytest.mark.parametrize("variant", VARIANTS)
def test_eap_ig_converges_to_exact_edge_patching_as_steps_grow(planted_prob, variant):
    """Every planted edge carries the whole logit change and the rest none, so the path
    integral is the exact effect; the midpoint rule's error falls ~4x per doubling."""
    exact = ActivationPatching(granularity="edge").explain(planted_prob).attributions
    assert np.abs(exact).max() > 0.1
    steps = (1, 2, 4, 16, 64)
    errors = [
        np.abs(
            EdgeAttributionPatchingIG(s, variant).explain(planted_prob).attributions - exact
        ).max()
        for s in steps
    ]
    assert errors[0] > 1e-3 and errors[-1] < 1e-6
    assert all(b < a / 3 for a, b in zip(errors, errors[1:], strict=False))
    eap = EdgeAttributionPatching().explain(planted_prob).attributions
    assert np.abs(eap - exact).max() > 10 * errors[0]  # the clean-end gradient saturates


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_eap_ig_equals_exact_on_the_linear_planted_model_at_one_step(planted, variant, direction):
    exact = ActivationPatching(direction, granularity="edge").explain(planted).attributions
    expl = EdgeAttributionPatchingIG(1, variant, direction).explain(planted)
    np.testing.assert_allclose(expl.attributions, exact, atol=1e-6)
    assert expl.meta["granularity"] == "edge" and expl.meta["variant"] == variant


def test_each_path_is_complete_on_a_nonlinear_model(smooth_prob):
    """inputs: the edges out of emb add up to m(clean) - m(counterfactual); activations:
    the edges into the logits do. Error falls with the steps (smooth model)."""
    task = smooth_prob
    total = _behaviour(task, task.clean) - _behaviour(task, task.counterfactual)
    assert np.abs(total).max() > 0.01
    for variant, selects in (("inputs", "emb->"), ("activations", "->logits")):
        errors = []
        for steps in (1, 4, 16):
            expl = EdgeAttributionPatchingIG(steps, variant).explain(task)
            picked = [j for j, n in enumerate(expl.meta["components"]) if selects in n]
            errors.append(np.abs(expl.attributions[:, picked].sum(axis=1) - total).max())
        assert errors[2] < errors[1] / 8 < errors[0] / 64 and errors[2] < 1e-4, (variant, errors)


@pytest.mark.parametrize("variant", VARIANTS)
def test_eap_ig_runs_steps_plus_two_forward_passes(planted, variant):
    for steps in (1, 3, 7):
        with count_passes(planted.model, planted.n_examples) as outside:
            expl = EdgeAttributionPatchingIG(steps, variant).explain(planted)
        assert outside.passes == expl.meta["passes"] == steps + 2
        assert expl.meta["backward_passes"] == steps
    with count_passes(planted.model, planted.n_examples) as outside:
        eap = EdgeAttributionPatching().explain(planted)
    assert outside.passes == eap.meta["passes"] == 2


def test_denoising_equals_noising_under_patching(random_task):
    """The path is the same segment walked backwards: the same scores."""
    noising = EdgeAttributionPatchingIG(3, "activations").explain(random_task).attributions
    denoising = EdgeAttributionPatchingIG(3, "activations", "denoising").explain(random_task)
    np.testing.assert_allclose(denoising.attributions, noising, atol=1e-6)


def test_activations_variant_under_zero_ablation_is_complete(random_task):
    """Every writer walks from zero to its clean write: the edges into the logits add up
    to m(clean) - m(all writes zero) = m(clean) under logit difference."""
    expl = EdgeAttributionPatchingIG(2, "activations", ablation="zero").explain(random_task)
    picked = [j for j, n in enumerate(expl.meta["components"]) if n.endswith("->logits")]
    np.testing.assert_allclose(
        expl.attributions[:, picked].sum(axis=1),
        _behaviour(random_task, random_task.clean),
        atol=1e-5,
    )


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidInputError, match="steps=0"):
        EdgeAttributionPatchingIG(steps=0)
    with pytest.raises(InvalidInputError, match="variant='outputs'"):
        EdgeAttributionPatchingIG(variant="outputs")
    with pytest.raises(InvalidInputError, match="variant='inputs' with ablation='mean'"):
        EdgeAttributionPatchingIG(variant="inputs", ablation="mean")
    with pytest.raises(InvalidInputError, match="ComponentTask"):
        EdgeAttributionPatchingIG().explain(object())
