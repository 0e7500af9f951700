from __future__ import annotations

import numpy as np
import pytest

from xai_bench import Explanation
from xai_bench.errors import InvalidInputError


def test_shapes_validated():
    with pytest.raises(InvalidInputError, match="n_samples"):
        Explanation(np.zeros(3), np.zeros(1), "x")
    with pytest.raises(InvalidInputError, match="one target per sample"):
        Explanation(np.zeros((3, 2)), np.zeros(2), "x")


def test_degenerate_respects_mask_and_subset_concat():
    a = np.array([[1.0, 1.0, 5.0], [0.0, 2.0, 0.0]])
    m = np.array([[True, True, False], [True, True, True]])
    e = Explanation(a, [0, 1], "x", mask=m)
    np.testing.assert_array_equal(e.degenerate(), [True, False])
    joined = Explanation.concat([e.subset(slice(0, 1)), e.subset(slice(1, 2))])
    np.testing.assert_array_equal(joined.attributions, a)
    np.testing.assert_array_equal(joined.mask, m)
    np.testing.assert_array_equal(joined.targets, [0, 1])
