"""Built-in component tasks: planted circuits recovered by exact patching, the methods
they separate, seeded examples, checked arguments and the model cache."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ActivationNorm,
    ActivationPatching,
    RandomComponents,
    precision_at_truth,
)
from xai_bench.components.tasks import BUILDERS, MLP_NEURON_TRUTH  # noqa: E402
from xai_bench.components.tasks._train import accuracy  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402
from xai_bench.explanation import Explanation  # noqa: E402

TRAINED = ("planted_induction", "free_induction", "ioi", "mlp_distractors")
PLANTED = (
    "planted_induction",
    "ioi",
    "mlp_distractors",
    "mlp_neurons",
    "previous_token",
    "first_token",
)
N = 32


@pytest.fixture(scope="session")
def built():
    """Each built-in task, built once per session (trained into the session's cache)."""
    tasks: dict = {}

    def get(name: str):
        if name not in tasks:
            tasks[name] = BUILDERS[name](n_examples=N)
        return tasks[name]

    return get


def mean_precision(task, explanation) -> float:
    """precision@|truth| of the ranking by the mean attribution over the examples."""
    mean = Explanation(
        attributions=explanation.attributions.mean(axis=0, keepdims=True),
        targets=explanation.targets[:1],
        explainer=explanation.explainer,
    )
    return float(precision_at_truth(task, mean).scores[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", PLANTED)
def test_exact_patching_ranks_the_planted_components_first(built, name):
    task = built(name)
    effects = ActivationPatching().explain(task)
    assert mean_precision(task, effects) == 1.0
    if task.space.granularity == "node":
        # per example too, but for a trained model's rare example where a distractor
        # edges out a weak planted link (measured: >= 0.98 at n_examples=64); neurons
        # silent on both inputs of an example tie with the (dead) distractors there
        assert precision_at_truth(task, effects).scores.mean() >= 0.95
    mean = np.abs(effects.attributions.mean(axis=0))
    truth = task.truth_mask()
    assert mean[truth].min() > 2 * mean[~truth].max()


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
def test_trained_models_solve_their_task(built, name):
    task = built(name)
    floor = 0.9 if name == "mlp_distractors" else 0.97  # measured: 0.95 / 1.0
    assert accuracy(task.model, task.clean, task.answers[:, 0]) >= floor


@pytest.mark.slow
def test_planted_induction_separates_the_methods(built):
    """The issue's target: at node level the random control and activation norm stay
    below precision 0.8 while exact patching ranks the planted components first."""
    task = built("planted_induction")
    assert precision_at_truth(task, RandomComponents(0).explain(task)).scores.mean() < 0.8
    assert precision_at_truth(task, ActivationNorm().explain(task)).scores.mean() < 0.8
    assert mean_precision(task, ActivationPatching().explain(task)) == 1.0


@pytest.mark.slow
def test_free_induction_is_the_unknown_mechanism_control(built):
    task = built("free_induction")
    assert task.ground_truth is None
    with pytest.raises(InvalidInputError, match="without ground truth"):
        task.truth_mask()
    # same examples as the planted task: only the training differs
    planted = built("planted_induction")
    np.testing.assert_array_equal(task.clean, planted.clean)


@pytest.mark.slow
def test_ioi_counterfactual_flips_the_answer(built):
    task = built("ioi")
    rows = torch.arange(task.n_examples)
    with torch.no_grad():
        clean = task.score(task.model(task.clean), rows)
        counter = task.score(task.model(task.counterfactual), rows)
    assert (clean > 0).all() and (counter < 0).all()
    # the subject is the repeated name, the indirect object the other one
    assert (task.clean[:, 4] == task.answers[:, 1]).all()
    assert (task.counterfactual[:, 4] == task.answers[:, 0]).all()


@pytest.mark.slow
def test_mlp_distractors_are_loud_and_causally_dead(built):
    task = built("mlp_distractors")
    names = task.space.names
    # node level: the dump head is the loudest write and has exactly no effect
    norm = ActivationNorm().explain(task).attributions.mean(axis=0)
    assert names[int(np.argmax(norm))] == "a0.h1"
    effects = ActivationPatching().explain(task).attributions
    assert np.abs(effects[:, names.index("a0.h1")]).max() < 1e-5
    # neuron level: every distractor exactly dead, every trained neuron alive
    neurons = built("mlp_neurons")
    assert neurons.space.granularity == "neuron" and neurons.ground_truth == MLP_NEURON_TRUTH
    truth = neurons.truth_mask()
    effect = np.abs(ActivationPatching().explain(neurons).attributions).mean(axis=0)
    assert (effect[~truth] == 0).all() and (effect[truth] > 0).all()
    # and three times as loud as the neuron whose inputs they copy
    loud = ActivationNorm().explain(neurons)
    np.testing.assert_allclose(
        loud.attributions[:, ~truth], 3 * loud.attributions[:, truth], rtol=1e-4
    )  # float32 writes
    # a trained neuron in the top |truth| brings its louder copy: at most half are real
    precision = precision_at_truth(neurons, loud).scores
    assert precision.max() <= 0.5 and precision.mean() < 0.45  # measured 0.40
    assert mean_precision(neurons, ActivationPatching().explain(neurons)) == 1.0


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({"n_examples": 0}, "n_examples=0"),
        ({"n_examples": -3}, "n_examples=-3"),
        ({"n_examples": 2.5}, "n_examples=2.5"),
        ({"n_examples": True}, "n_examples=True"),
        ({"seed": "a"}, "seed='a'"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"seed": -1}, "seed=-1"),
    ],
)
def test_builders_reject_bad_arguments_before_building(name, kwargs, found, monkeypatch):
    monkeypatch.setattr("xai_bench.tasks._cache.building", _no_training)
    with pytest.raises(InvalidInputError, match=f"{found}.*expected") as info:
        BUILDERS[name](**kwargs)
    assert "Pass e.g." in str(info.value)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_builders_reject_an_unknown_behaviour_before_building(name, monkeypatch):
    monkeypatch.setattr("xai_bench.tasks._cache.building", _no_training)
    with pytest.raises(InvalidInputError, match="behaviour='kl'.*logit_diff"):
        BUILDERS[name](behaviour="kl")


def test_the_behaviour_passes_through():
    task = BUILDERS["previous_token"](n_examples=4, behaviour="prob")
    assert task.behaviour == "prob"
    with torch.no_grad():
        prob = task.score(task.model(task.clean), torch.arange(4))
    assert ((prob > 0) & (prob < 1)).all()


def _no_training(name):
    raise AssertionError(f"{name} trained")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BUILDERS))
def test_examples_are_seeded(built, name):
    task = built(name)
    again = BUILDERS[name](n_examples=N, seed=0)
    other = BUILDERS[name](n_examples=N, seed=1)
    np.testing.assert_array_equal(again.clean, task.clean)
    np.testing.assert_array_equal(again.counterfactual, task.counterfactual)
    assert not np.array_equal(other.clean, task.clean)
    assert (task.answers[:, 0] != task.answers[:, 1]).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINED)
def test_a_second_build_loads_the_cached_weights(built, name, monkeypatch):
    from xai_bench.tasks._cache import cache_dir

    first = built(name)
    assert (cache_dir() / f"components_{name}_v1.safetensors").exists()
    monkeypatch.setattr("xai_bench.tasks._cache.building", _no_training)
    second = BUILDERS[name](n_examples=N)
    assert second.model is not first.model
    for (key, a), b in zip(
        first.model.state_dict().items(), second.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), key
