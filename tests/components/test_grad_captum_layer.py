"""Captum's layer methods over components: each equals what it should, in numbers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from xai_bench.components import (  # noqa: E402
    ABLATIONS,
    ActivationPatching,
    CaptumInternalInfluence,
    CaptumLayerActivation,
    CaptumLayerConductance,
    CaptumLayerFeatureAblation,
    EdgeAttributionPatchingIG,
)
from xai_bench.components.masker import record  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


@pytest.mark.parametrize(
    ("direction", "ablation"),
    [("noising", a) for a in ABLATIONS] + [("denoising", "patching")],
)
def test_feature_ablation_per_head_is_exact_patching(random_task, direction, ablation):
    """One group per head, the ablated writes as layer baselines: Captum's loop of
    ablations is activation patching, on a nonlinear model too."""
    expl = CaptumLayerFeatureAblation(direction, ablation).explain(random_task)
    exact = ActivationPatching(direction, ablation).explain(random_task).attributions
    np.testing.assert_allclose(expl.attributions, exact, atol=1e-6)
    assert np.abs(exact).max() > 0.1
    assert expl.meta["library"] == "captum" and expl.meta["granularity"] == "node"
    # the clean and ablated records; per site (5) Captum reads the layer once and runs
    # the unperturbed input once, then one pass per group (one per component)
    assert expl.meta["passes"] == 2 + 2 * 5 + len(random_task.space)


def test_feature_ablation_per_neuron_is_exact_neuron_patching(random_task):
    task = random_task.neurons(0)
    expl = CaptumLayerFeatureAblation().explain(task)
    np.testing.assert_allclose(
        expl.attributions, ActivationPatching().explain(task).attributions, atol=1e-6
    )
    assert expl.meta["components"] == [f"m0.n{i}" for i in range(8)]


def test_conductance_is_exact_on_the_linear_planted_model(planted):
    exact = ActivationPatching().explain(planted).attributions
    expl = CaptumLayerConductance(steps=4).explain(planted)
    np.testing.assert_allclose(expl.attributions, exact, atol=1e-6)
    assert expl.params["method"] == "riemann_trapezoid"
    # Captum's default rule misses both ends of the path: 0.19 of 2 at 4 steps
    gauss = CaptumLayerConductance(steps=4, method="gausslegendre").explain(planted)
    assert np.abs(gauss.attributions - exact).max() > 0.1


def test_conductance_of_the_embeddings_is_complete(random_task):
    """Every path leaves through emb: its conductance is IG over the whole model."""
    task = random_task
    expl = CaptumLayerConductance(steps=256).explain(task)
    with torch.no_grad():
        rows = torch.arange(task.n_examples)
        total = task.score(task.model(task.clean), rows) - task.score(
            task.model(task.counterfactual), rows
        )
    np.testing.assert_allclose(expl.attributions[:, 0], total.numpy(), atol=5e-3)


def test_internal_influence_times_the_write_is_eap_ig_inputs_per_writer(random_task):
    """The same midpoints, the same gradients: Captum's InternalInfluence times each
    node's clean-minus-counterfactual write = the node's EAP-IG (inputs) edges summed."""
    expl = CaptumInternalInfluence(steps=4, method="riemann_middle").explain(random_task)
    edges = EdgeAttributionPatchingIG(4, "inputs").explain(random_task)
    writers = np.array([n.split("->")[0] for n in edges.meta["components"]])
    summed = np.stack(
        [edges.attributions[:, writers == n].sum(axis=1) for n in random_task.space.names], 1
    )
    assert np.abs(summed).max() > 0.5
    np.testing.assert_allclose(expl.attributions, summed, atol=1e-5)


def test_layer_activation_is_the_norm_of_the_write_change(random_task):
    task = random_task
    expl = CaptumLayerActivation().explain(task)
    clean, cf = record(task, task.clean)[1], record(task, task.counterfactual)[1]
    heads = (clean[1] - cf[1]).double().pow(2).sum(dim=(1, 3)).sqrt()  # layer 0's heads
    np.testing.assert_allclose(expl.attributions[:, 1:4], heads.numpy(), rtol=1e-5)
    mlp = (clean[2] - cf[2]).double().pow(2).sum(dim=(1, 2)).sqrt()
    np.testing.assert_allclose(expl.attributions[:, 4], mlp.numpy(), rtol=1e-5)
    assert expl.meta["passes"] == 3


def test_gradient_methods_work_over_neurons(random_task):
    task = random_task.neurons(0)
    for cls in (CaptumLayerConductance, CaptumInternalInfluence):
        expl = cls(steps=8).explain(task)
        assert expl.attributions.shape == (task.n_examples, 8)
        assert expl.meta["granularity"] == "neuron" and np.abs(expl.attributions).max() > 1e-3


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidInputError, match="steps=1"):
        CaptumLayerConductance(steps=1)
    with pytest.raises(InvalidInputError, match="denoising"):
        CaptumLayerFeatureAblation("denoising", "zero")
    with pytest.raises(InvalidInputError, match="ComponentTask"):
        CaptumLayerActivation().explain(object())
