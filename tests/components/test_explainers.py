"""Component explainers: exact patching, AtP in both directions, the random control."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ABLATIONS,
    PLANTED_CIRCUIT,
    AblationMasker,
    ActivationIG,
    ActivationNorm,
    ActivationPatching,
    AttributionPatching,
    ComponentTask,
    RandomComponents,
    TinyTransformer,
    precision_at_truth,
)
from xai_bench.errors import InvalidInputError  # noqa: E402


@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_atp_equals_exact_patching_on_a_model_linear_in_its_writes(planted, direction):
    exact = ActivationPatching(direction).explain(planted)
    atp = AttributionPatching(direction).explain(planted)
    np.testing.assert_allclose(atp.attributions, exact.attributions, atol=1e-6)
    assert exact.attributions.shape == (16, len(planted.space))


def test_atp_is_only_an_estimate_on_a_nonlinear_model(random_task):
    exact = ActivationPatching().explain(random_task).attributions
    atp = AttributionPatching().explain(random_task).attributions
    assert np.abs(atp - exact).max() > 1e-2
    assert np.corrcoef(atp.ravel(), exact.ravel())[0, 1] > 0.5  # but a good one


@pytest.mark.parametrize(
    ("direction", "ablation"),
    [("noising", a) for a in ABLATIONS] + [("denoising", "patching")],
)
def test_exact_patching_ranks_the_planted_components_first(planted, direction, ablation):
    mean = ActivationPatching(direction, ablation).explain(planted).attributions.mean(axis=0)
    top = {planted.space.names[j] for j in np.argsort(-mean)[: len(PLANTED_CIRCUIT)]}
    assert top == set(PLANTED_CIRCUIT)
    others = np.delete(mean, planted.space.index(list(PLANTED_CIRCUIT)))
    assert mean[planted.space.index(list(PLANTED_CIRCUIT))].min() > np.abs(others).max() + 0.5


def test_noising_effects_are_clean_minus_ablated(random_task):
    expl = ActivationPatching().explain(random_task)
    n = len(random_task.space)
    m = AblationMasker().evaluate(
        random_task, np.vstack([np.ones((1, n), bool), ~np.eye(n, dtype=bool)])
    )
    np.testing.assert_allclose(expl.attributions, (m[0] - m[1:]).T)


def test_denoising_restores_one_clean_write_into_the_counterfactual_run(planted):
    """On the planted chain every link, restored alone, carries the clean first token
    through the rest of the chain (which recomputes): each flips -1 to +1."""
    denoise = ActivationPatching("denoising").explain(planted).attributions.mean(axis=0)
    names = planted.space.names
    assert denoise[names.index("a2.h0")] == pytest.approx(2.0)
    assert denoise[names.index("emb")] == pytest.approx(2.0)  # everything downstream recomputes
    assert denoise[names.index("a0.h0")] == pytest.approx(2.0)


def test_meta_records_the_conventions(planted):
    expl = AttributionPatching("denoising").explain(planted)
    assert expl.meta["direction"] == "denoising" and expl.meta["ablation"] == "patching"
    assert expl.meta["sign"].startswith("positive = ")
    assert expl.meta["components"] == list(planted.space.names)
    assert expl.params == {"direction": "denoising", "ablation": "patching"}
    np.testing.assert_array_equal(expl.targets, planted.answers[:, 0].numpy())


def test_random_control_is_seeded(planted):
    a, b = RandomComponents(3).explain(planted), RandomComponents(3).explain(planted)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, RandomComponents(4).explain(planted).attributions)
    assert a.meta["seed"] == 3


@pytest.mark.parametrize("cls", [ActivationPatching, AttributionPatching])
def test_bad_parameters_and_tasks_are_refused(cls, planted):
    with pytest.raises(InvalidInputError, match="direction='sideways'"):
        cls(direction="sideways")
    with pytest.raises(InvalidInputError, match="denoising"):
        cls(direction="denoising", ablation="mean")
    with pytest.raises(InvalidInputError, match="ComponentTask"):
        cls().explain(object())


def test_activation_ig_converges_to_exact_patching_as_steps_grow():
    """Attention-only random model: smooth paths, so the midpoint rule's error falls ~16x
    per 4x steps; AtP (the one-point rule at the clean end) is far off."""
    torch.manual_seed(0)
    model = TinyTransformer(vocab=10, n_ctx=5, d_model=16, n_layers=2, n_heads=3, d_head=4)
    rng = np.random.default_rng(0)
    task = ComponentTask(
        name="smooth",
        model=model,
        clean=rng.integers(0, 10, (6, 5)),
        counterfactual=rng.integers(0, 10, (6, 5)),
        answers=rng.integers(0, 10, (6, 2)),
    )
    for direction in ("noising", "denoising"):
        exact = ActivationPatching(direction).explain(task).attributions
        errors = [
            np.abs(ActivationIG(s, direction).explain(task).attributions - exact).max()
            for s in (1, 4, 16, 64)
        ]
        assert errors[0] > 0.05 and errors[-1] < 1e-4
        assert all(b < a / 8 for a, b in zip(errors[1:-1], errors[2:], strict=True))
        atp = AttributionPatching(direction).explain(task).attributions
        assert np.abs(atp - exact).max() > 10 * errors[1]


def test_activation_ig_is_exact_on_the_linear_planted_model(planted):
    exact = ActivationPatching().explain(planted).attributions
    ig = ActivationIG(steps=2, chunk_rows=100).explain(planted)
    np.testing.assert_allclose(ig.attributions, exact, atol=1e-6)
    assert ig.params == {"steps": 2, "direction": "noising", "ablation": "patching"}
    with pytest.raises(InvalidInputError, match="steps=0"):
        ActivationIG(steps=0)


def test_activation_norm_is_fooled_by_the_loud_distractors(planted):
    """Hand-computed norms: one-hot writes at 6 positions have norm sqrt(6) times their
    scale; emb writes a token and a position one-hot (sqrt(12))."""
    expl = ActivationNorm().explain(planted)
    names = planted.space.names
    expected = dict.fromkeys(names, np.sqrt(6))
    expected.update({"emb": np.sqrt(12), "a0.h1": 3 * np.sqrt(6), "a1.h0": 3 * np.sqrt(6)})
    expected.update({"a1.h1": 2 * np.sqrt(6), "a2.h1": 2 * np.sqrt(6), "a1.h2": 0, "a2.h3": 0})
    first = expl.attributions[0]
    for name in ("emb", "a0.h0", "a0.h1", "a1.h0", "a1.h1", "a1.h2", "a2.h0", "a2.h1", "a2.h3"):
        assert first[names.index(name)] == pytest.approx(expected[name]), name
    assert precision_at_truth(planted, expl).mean == 0.0
    assert precision_at_truth(planted, ActivationPatching().explain(planted)).mean == 1.0
