"""Linear and k-sparse probes over MLP neurons: the planted carrier, the loud distractor."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ACDC,
    ActivationPatching,
    AttentionHeuristic,
    CausalTracing,
    ComponentTask,
    LinearProbe,
    SparseProbe,
    TinyTransformer,
)
from xai_bench.components.probes import neuron_activations  # noqa: E402
from xai_bench.errors import IncompatibleError, InvalidInputError  # noqa: E402

VOCAB, N_CTX, SHARP = 8, 4, 30.0
TOK, POS, S1, OUT = 0, 8, 12, 20  # residual subspaces: token, position, carried token, readout


def _probe_task(n: int = 48, seed: int = 0) -> ComponentTask:
    """One head copies the first token into S1; the MLP reads it at the last position.

    Clean first tokens are {0, 1}, counterfactual ones {2, 3}. Neuron 0 (the carrier)
    fires exactly on clean rows and raises the logits of tokens 0 and 1 (the only path to
    the logits). Neuron 1 (the distractor) fires 5x as loud on clean rows, plus 4 when the
    last token is 4 or 5, and writes nothing. Neuron 2 fires on first token 0; neuron 3
    on last token 6; both write to tokens no answer uses.
    """
    model = TinyTransformer(VOCAB, N_CTX, d_model=28, n_layers=1, n_heads=1, d_head=8, d_mlp=4)
    eye = torch.eye(VOCAB)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W_E[:, TOK : TOK + VOCAB] = eye
        model.W_pos[:, POS : POS + N_CTX] = torch.eye(N_CTX)
        model.W_U[OUT : OUT + VOCAB] = eye
        attn, mlp = model.block(0).attn, model.block(0).mlp
        attn.W_Q[0, POS : POS + N_CTX, 0] = 1.0
        attn.W_K[0, POS, 0] = SHARP * np.sqrt(8)  # every query attends to position 0
        attn.W_V[0, TOK : TOK + VOCAB] = eye
        attn.W_O[0, :, S1 : S1 + VOCAB] = eye
        w_in, w_out = mlp[0].weight, mlp[2].weight  # (4, 28), (28, 4)
        w_in[0, [S1, S1 + 1]] = 1.0
        w_in[1, [S1, S1 + 1]] = 5.0
        w_in[1, [TOK + 4, TOK + 5]] = 4.0
        w_in[2, S1] = 1.0
        w_in[3, TOK + 6] = 1.0
        w_out[[OUT, OUT + 1], 0] = 1.0
        w_out[OUT + 7, 2] = w_out[OUT + 6, 3] = 1.0
    rng = np.random.default_rng(seed)
    clean = rng.integers(4, VOCAB, size=(n, N_CTX))
    clean[:, 0] = rng.integers(0, 2, size=n)
    counterfactual = clean.copy()
    counterfactual[:, 0] = rng.integers(2, 4, size=n)
    answers = np.stack([clean[:, 0], counterfactual[:, 0]], axis=1)
    return ComponentTask("probe", model.eval(), clean, counterfactual, answers)


@pytest.fixture(scope="module")
def probe_task():
    return _probe_task()


def _patching(task, layer=0):
    """Exact noising per neuron, averaged over the examples."""
    return ActivationPatching().explain(task.neurons(layer)).attributions.mean(axis=0)


def test_activations_are_the_planted_neurons(probe_task):
    acts = neuron_activations(probe_task, 0, probe_task.clean)
    last = probe_task.clean[:, -1].numpy()
    np.testing.assert_allclose(acts[:, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(acts[:, 1], 5 + 4 * np.isin(last, [4, 5]), atol=1e-5)
    np.testing.assert_allclose(acts[:, 2], probe_task.clean[:, 0].numpy() == 0, atol=1e-6)
    counter = neuron_activations(probe_task, 0, probe_task.counterfactual)
    np.testing.assert_allclose(counter[:, 0], 0.0, atol=1e-6)


@pytest.mark.parametrize(
    "probe",
    [LinearProbe(), SparseProbe(k=1), SparseProbe(k=1, selection="l1", C=0.1)],
    ids=["linear", "mean_diff", "l1"],
)
def test_the_carrier_ranks_first_and_the_distractor_high_while_patching_zeroes_it(
    probe_task, probe
):
    """Probe vs patching: the distractor is read by nothing, so patching gives it 0."""
    expl = probe.explain(probe_task)
    scores = expl.attributions[0]
    assert expl.meta["components"] == ["m0.n0", "m0.n1", "m0.n2", "m0.n3"]
    assert np.argmax(scores) == 0 and expl.meta["selected"][0] == "m0.n0"
    assert expl.meta["probe"]["accuracy"] == 1.0  # the carrier alone separates the runs
    patching = _patching(probe_task)
    np.testing.assert_allclose(patching, [1.0, 0.0, 0.0, 0.0], atol=1e-5)
    if isinstance(probe, SparseProbe) and probe.selection == "l1":
        # the carrier alone separates the runs: the L1 path keeps it only
        np.testing.assert_array_equal(scores[1:], 0.0)
    else:  # the loud, unread distractor comes second, well clear of the rest
        assert np.argsort(-scores)[1] == 1 and scores[1] - scores[2:].max() > 0.3


def test_mean_difference_is_the_standardised_gap(probe_task):
    """Neuron 0 is the label itself: 0/1 with p = 1/2 gives a gap of 1 / 0.5 = 2."""
    scores = SparseProbe(k=2).explain(probe_task).attributions[0]
    assert scores[0] == pytest.approx(2.0)
    clean = neuron_activations(probe_task, 0, probe_task.clean)[:, 1]
    counter = neuron_activations(probe_task, 0, probe_task.counterfactual)[:, 1]
    gap = clean.mean() - counter.mean()
    assert gap == pytest.approx(5.0)  # the loud part; the last token is shared by both runs
    assert scores[1] == pytest.approx(gap / np.concatenate([clean, counter]).std())
    assert scores[3] == pytest.approx(0.0)  # fires the same on clean and counterfactual


def test_the_answer_label_finds_the_neuron_that_tells_the_answers_apart(probe_task):
    """Among clean rows (answers 0 and 1), only neuron 2 (first token 0) differs."""
    expl = SparseProbe(k=1, label="answer").explain(probe_task)
    assert expl.meta["selected"] == ["m0.n2"] and expl.meta["probe"] == {"accuracy": 1.0, "k": 1}
    assert expl.attributions[0][2] == pytest.approx(2.0, rel=0.05)  # 0/1, p close to 1/2
    linear = LinearProbe(label="answer").explain(probe_task)
    assert np.argmax(linear.attributions[0]) == 2 and linear.meta["probe"]["k"] == 4


def test_meta_records_a_correlational_neuron_ranking(probe_task):
    expl = SparseProbe(k=2, selection="mean_diff").explain(probe_task)
    assert expl.meta["space"] == "neuron" and expl.meta["direction"] == "none"
    assert expl.meta["sign"].startswith("unsigned")
    assert expl.meta["passes"] == 2  # clean and counterfactual activations
    assert expl.meta["selected"] == ["m0.n0", "m0.n1"] and expl.meta["probe"]["k"] == 2
    assert expl.params == {
        "layer": None, "label": "run", "position": -1, "C": 1.0, "k": 2, "selection": "mean_diff"
    }  # fmt: skip
    assert expl.meta["layer"] == 0  # the first (only) MLP
    assert expl.explainer == "components.probe_sparse"


def test_bad_input_is_refused(probe_task, planted):
    with pytest.raises(IncompatibleError, match="has no MLP layer"):
        LinearProbe().explain(planted)
    with pytest.raises(InvalidInputError, match="neuron layer 3"):
        LinearProbe(layer=3).explain(probe_task)
    with pytest.raises(InvalidInputError, match="k=5"):
        SparseProbe(k=5).explain(probe_task)
    for make in (
        lambda: LinearProbe(label="logits"),
        lambda: LinearProbe(C=0),
        lambda: SparseProbe(k=0),
        lambda: SparseProbe(selection="lasso"),
    ):
        with pytest.raises(InvalidInputError):
            make()
    one_class = _probe_task(n=8)
    one_class.answers[:, 0] = 0
    with pytest.raises(InvalidInputError, match="one label class"):
        LinearProbe(label="answer").explain(one_class)


def test_a_neuron_task_is_probed_over_its_own_space_and_refused_by_node_methods(probe_task):
    neurons = probe_task.neurons(0)
    expl = SparseProbe(k=1).explain(neurons)
    assert expl.meta["components"] == list(neurons.space.names) and expl.meta["layer"] == 0
    np.testing.assert_allclose(expl.attributions, SparseProbe(k=1).explain(probe_task).attributions)
    with pytest.raises(InvalidInputError, match="layer=1 on a task over the neurons of layer 0"):
        LinearProbe(layer=1).explain(neurons)
    for explainer in (CausalTracing(), AttentionHeuristic(), ACDC()):
        with pytest.raises(IncompatibleError, match="neuron space"):
            explainer.explain(neurons)
