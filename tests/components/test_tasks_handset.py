"""The hand-set previous-token task: every exact method recovers its circuit, and the
first-order methods equal exact patching because the model is linear in every write."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ABLATIONS,
    ActivationIG,
    ActivationNorm,
    ActivationPatching,
    AttributionPatching,
    EdgeAttributionPatching,
)
from xai_bench.components.tasks import (  # noqa: E402
    PREVIOUS_TOKEN_CIRCUIT,
    PREVIOUS_TOKEN_EDGES,
    previous_token,
)


@pytest.fixture(scope="module")
def task():
    return previous_token(n_examples=16)


def top(names, attributions, k):
    mean = np.abs(np.asarray(attributions).mean(axis=0))
    return {names[j] for j in np.argsort(-mean, kind="stable")[:k]}


def test_the_circuit_copies_the_previous_token(task):
    """Only a0.h1 writes the second-last token into the readout: logit diff = +1 clean,
    -1 on the counterfactual (the answers swap), for every example."""
    rows = torch.arange(task.n_examples)
    with torch.no_grad():
        clean = task.score(task.model(task.clean), rows)
        counter = task.score(task.model(task.counterfactual), rows)
    np.testing.assert_allclose(clean.numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(counter.numpy(), -1.0, atol=1e-6)


@pytest.mark.parametrize(
    "explainer",
    [ActivationPatching("noising", a) for a in ABLATIONS]
    + [ActivationPatching("denoising")]
    + [AttributionPatching(d) for d in ("noising", "denoising")]
    + [ActivationIG(steps=4, direction=d) for d in ("noising", "denoising")],
    ids=lambda e: f"{e.name}-{e.direction}-{e.ablation}",
)
def test_every_exact_method_recovers_the_circuit(task, explainer):
    attributions = explainer.explain(task).attributions
    k = len(PREVIOUS_TOKEN_CIRCUIT)
    assert top(task.space.names, attributions, k) == set(PREVIOUS_TOKEN_CIRCUIT)


@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_first_order_methods_equal_exact_patching_on_a_linear_model(task, direction):
    exact = ActivationPatching(direction).explain(task).attributions
    atp = AttributionPatching(direction).explain(task).attributions
    ig = ActivationIG(steps=2, direction=direction).explain(task).attributions
    np.testing.assert_allclose(atp, exact, atol=1e-6)
    np.testing.assert_allclose(ig, exact, atol=1e-6)
    # the circuit's links each carry the whole difference of 2 (from +1 to -1)
    names = task.space.names
    for name in PREVIOUS_TOKEN_CIRCUIT:
        np.testing.assert_allclose(exact[:, names.index(name)], 2.0, atol=1e-6)


def test_edge_attribution_patching_equals_exact_edge_patching(task):
    exact = ActivationPatching(granularity="edge").explain(task)
    eap = EdgeAttributionPatching().explain(task)
    np.testing.assert_allclose(eap.attributions, exact.attributions, atol=1e-6)
    names = exact.meta["components"]
    assert top(names, exact.attributions, 2) == set(PREVIOUS_TOKEN_EDGES)
    others = np.delete(exact.attributions, [names.index(e) for e in PREVIOUS_TOKEN_EDGES], 1)
    assert np.abs(others).max() < 1e-6


def test_activation_norm_is_fooled_by_the_loud_copy(task):
    """a0.h0 copies the same token three times louder where nothing reads: the
    activation ranking puts it above the circuit's head."""
    norm = ActivationNorm().explain(task).attributions.mean(axis=0)
    names = task.space.names
    assert norm[names.index("a0.h0")] > norm[names.index("a0.h1")]
