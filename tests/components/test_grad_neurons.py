"""The neuron space m{l}.n{i}: names, masker support, neuron-level patching and AtP."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    AblationMasker,
    ActivationNorm,
    ActivationPatching,
    AttributionPatching,
    neuron_space,
    precision_at_truth,
)
from xai_bench.errors import IncompatibleError, InvalidInputError, UnknownNameError  # noqa: E402


def _behaviour(task, tokens):
    with torch.no_grad():
        return task.score(task.model(tokens), torch.arange(task.n_examples)).double().numpy()


def test_neuron_space_names_one_mlp_layer(random_task):
    space = neuron_space(random_task.model, 1)
    assert space.granularity == "neuron" and len(space) == 8
    assert space.names[0] == "m1.n0" and space.names[-1] == "m1.n7"
    task = random_task.neurons(0)
    assert task.space.names[3] == "m0.n3" and task.swapped().space.names == task.space.names


def test_bad_layers_and_truth_are_refused(random_task, planted):
    with pytest.raises(InvalidInputError, match="neuron layer 2"):
        random_task.neurons(2)
    with pytest.raises(InvalidInputError, match="one of \\[\\]"):
        planted.neurons(0)  # attention-only: no MLP, no neurons
    with pytest.raises(UnknownNameError):
        random_task.neurons(0, ground_truth=["a0.h0"])


def test_masker_keeps_and_drops_neurons(random_task):
    """All kept = clean; all of m0's neurons patched = m0 patched as a node (the output
    bias is shared); one dropped neuron = a hand-written hook on the ReLU."""
    task = random_task.neurons(0)
    n = len(task.space)
    out = AblationMasker().evaluate(task, np.vstack([np.ones(n, bool), np.zeros(n, bool)]))
    np.testing.assert_array_equal(out[0], _behaviour(task, task.clean))
    nodes = random_task.space
    keep = np.ones((1, len(nodes)), bool)
    keep[0, nodes.index(["m0"])] = False
    np.testing.assert_allclose(out[1], AblationMasker().evaluate(random_task, keep)[0], atol=1e-6)
    assert not np.allclose(out[1], out[0])

    relu = task.model.block(0).mlp[1]
    cf = []
    handle = relu.register_forward_hook(lambda m, i, o: cf.append(o))
    _behaviour(task, task.counterfactual)
    handle.remove()

    def patch(_m, _i, o):
        o = o.clone()
        o[..., 5] = cf[0][..., 5]
        return o

    handle = relu.register_forward_hook(patch)
    expected = _behaviour(task, task.clean)
    handle.remove()
    one = np.ones((1, n), bool)
    one[0, 5] = False
    np.testing.assert_allclose(AblationMasker().evaluate(task, one)[0], expected, atol=1e-6)
    zero = AblationMasker("zero").evaluate(task, np.zeros((1, n), bool))
    assert zero.shape == (1, task.n_examples)


@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_neuron_atp_adds_up_to_the_mlp_node_atp(random_task, direction):
    neurons = AttributionPatching(direction).explain(random_task.neurons(0))
    node = AttributionPatching(direction).explain(random_task).attributions
    assert neurons.meta["granularity"] == "neuron"
    assert neurons.meta["components"] == [f"m0.n{i}" for i in range(8)]
    np.testing.assert_allclose(
        neurons.attributions.sum(axis=1), node[:, random_task.space.index(["m0"])[0]], atol=1e-5
    )


def test_exact_neuron_patching_separates_a_loud_dead_neuron(random_task):
    """Cut neuron 2's outgoing weights: it stays the loudest, its patching effect is 0."""
    model = copy.deepcopy(random_task.model)
    with torch.no_grad():
        model.block(0).mlp[2].weight[:, 2] = 0.0
    task = copy.copy(random_task)
    object.__setattr__(task, "model", model)
    task = task.neurons(0, ground_truth=["m0.n3"])
    norm = ActivationNorm().explain(task).attributions
    exact = ActivationPatching().explain(task)
    assert (norm.argmax(axis=1) == 2).mean() >= 5 / 6
    np.testing.assert_array_equal(exact.attributions[:, 2], 0.0)
    assert np.abs(exact.attributions).max() > 1e-2
    assert exact.meta["granularity"] == "neuron"
    assert precision_at_truth(task, exact).scores.shape == (task.n_examples,)


def test_edges_need_the_node_space(random_task):
    with pytest.raises(IncompatibleError, match="neuron space"):
        ActivationPatching(granularity="edge").explain(random_task.neurons(0))
