"""MIB faithfulness, CPR, CMD and precision@|truth|: golden values on the planted task.

On the planted chain the behaviour is +1 when the circuit keeps all of emb, a0.h0 and
a2.h0 and -1 otherwise, so f(C) is 1 or 0 and every area is a sum of hand-countable
trapezoids.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    MIB_GRID,
    PLANTED_CIRCUIT,
    auroc_truth,
    circuit_sizes,
    cmd,
    cpr,
    faithfulness_curve,
    precision_at_truth,
)
from xai_bench.errors import InvalidInputError  # noqa: E402
from xai_bench.explanation import Explanation  # noqa: E402


def _explanation(task, order_names, n_examples=None):
    """Attributions that rank ``order_names`` first (score F, F-1, ...), the rest at 0."""
    score = np.zeros(len(task.space))
    for rank, name in enumerate(order_names):
        score[task.space.index(name)] = len(task.space) - rank
    rows = task.n_examples if n_examples is None else n_examples
    return Explanation(np.tile(score, (rows, 1)), np.zeros(rows), "hand")


def test_mib_grid_leaves_small_spaces_empty():
    x, sizes = circuit_sizes(81, "mib")
    np.testing.assert_array_equal(x, MIB_GRID)
    assert sizes.tolist() == [0, 0, 0, 0, 1, 4, 8, 16, 40, 81]  # four empty circuits
    x, sizes = circuit_sizes(13, "uniform", steps=13)
    assert sizes.tolist() == list(range(14))


def test_planted_first_gives_the_hand_computed_areas(planted):
    expl = _explanation(planted, list(PLANTED_CIRCUIT))
    uniform = cpr(planted, expl, grid="uniform", steps=13)
    np.testing.assert_allclose(uniform.curves[0], [0, 0, 0] + [1] * 11)
    assert uniform.scores[0] == pytest.approx(10.5 / 13)  # half a step, then ten full ones
    assert cmd(planted, expl, grid="uniform", steps=13).scores[0] == pytest.approx(2.5 / 13)
    # MIB grid on 13 components: sizes 0 x6, 1, 2, 6, 13 -> f = 1 from x = 0.5 on
    mib = cpr(planted, expl)
    assert mib.params["sizes"] == [0, 0, 0, 0, 0, 0, 1, 2, 6, 13]
    assert mib.scores[0] == pytest.approx(0.15 + 0.5)
    assert cmd(planted, expl).scores[0] == pytest.approx(0.199 + 0.15)
    assert mib.params["m_full"] == 1.0 and mib.params["m_empty"] == -1.0


def test_planted_last_gives_the_worst_areas(planted):
    others = [n for n in planted.space.names if n not in PLANTED_CIRCUIT]
    expl = _explanation(planted, others + list(PLANTED_CIRCUIT))
    assert cpr(planted, expl, grid="uniform", steps=13).scores[0] == pytest.approx(0.5 / 13)
    assert cmd(planted, expl, grid="uniform", steps=13).scores[0] == pytest.approx(12.5 / 13)


def test_signed_and_absolute_rankings_differ(planted):
    """Planted components with large negative scores: last when signed, first when absolute."""
    expl = _explanation(planted, list(PLANTED_CIRCUIT))
    flipped = Explanation(-expl.attributions, expl.targets, "hand")
    x, f_signed, _ = faithfulness_curve(planted, flipped, order="signed", grid="uniform", steps=13)
    _, f_abs, _ = faithfulness_curve(planted, flipped, order="abs", grid="uniform", steps=13)
    assert f_signed.tolist() == [0] * 13 + [1] and f_abs.tolist() == [0] * 3 + [1] * 11


def test_precision_at_truth_per_example(planted):
    expl = _explanation(planted, ["emb", "a0.h0", "a1.h1"])  # two of the three
    assert precision_at_truth(planted, expl).scores == pytest.approx(np.full(16, 2 / 3))
    ties = Explanation(np.zeros((16, 13)), np.zeros(16), "flat")  # ties: the space's order
    assert precision_at_truth(planted, ties).scores == pytest.approx(np.full(16, 2 / 3))


def test_bad_inputs_are_refused(planted, random_task):
    expl = _explanation(planted, list(PLANTED_CIRCUIT))
    with pytest.raises(InvalidInputError, match="grid='log'"):
        cpr(planted, expl, grid="log")
    with pytest.raises(InvalidInputError, match="attributions over 13 features"):
        cpr(random_task, expl)
    with pytest.raises(InvalidInputError, match="without ground truth"):
        precision_at_truth(random_task, Explanation(np.zeros((6, 9)), np.zeros(6), "x"))
    same = planted.swapped().swapped()
    object.__setattr__(same, "counterfactual", same.clean)  # nothing to ablate towards
    with pytest.raises(InvalidInputError, match="full and the empty circuit"):
        cpr(same, expl)


def test_auroc_against_the_planted_circuit(planted):
    first = _explanation(planted, list(PLANTED_CIRCUIT))
    assert auroc_truth(planted, first).scores == pytest.approx(np.ones(16))
    flat = Explanation(np.zeros((16, 13)), np.zeros(16), "flat")
    assert auroc_truth(planted, flat).scores == pytest.approx(np.full(16, 0.5))
    # truth at ranks 1, 2 and 13 of 13: the last one outscores none of the 10 others
    others = [n for n in planted.space.names if n not in PLANTED_CIRCUIT]
    split = _explanation(planted, ["emb", "a0.h0", *others, "a2.h0"])
    assert auroc_truth(planted, split, order="signed").scores == pytest.approx(np.full(16, 20 / 30))
