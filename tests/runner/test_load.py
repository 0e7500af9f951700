"""Reading a store back: the fast array decoder gives exactly what np.load gives."""

from __future__ import annotations

import io

import numpy as np
import pytest

from xai_bench.errors import StoreError
from xai_bench.runner import load
from xai_bench.runner.store import from_blob as np_load
from xai_bench.runner.store import to_blob

ARRAYS = [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    np.array([True, False, True]),
    np.arange(5, dtype=np.int64),
    np.zeros((0, 7)),
    np.array(3.5),
    np.arange(6, dtype=">i4").reshape(2, 3),
    np.array(["ab", "c"]),
]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_fast_decoder_matches_np_load_bitwise(arr):
    blob = to_blob(arr)
    ours, ref = load.from_blob(blob), np_load(blob)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert ours.tobytes() == ref.tobytes()
    assert ours.flags.writeable  # a copy, as np.load gives
    assert ours.flags.f_contiguous == ref.flags.f_contiguous


def test_fast_decoder_refuses_what_np_load_refuses():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        load.from_blob(buf.getvalue())
    truncated = to_blob(np.arange(10.0))[:-8]
    with pytest.raises(ValueError):
        load.from_blob(truncated)
    assert load.from_blob(None) is None
    with pytest.raises(StoreError):
        load.array(None)
