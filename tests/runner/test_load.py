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
    truncated = to_blob(np.arange(10.0))[:-8]
    for blob in (buf.getvalue(), truncated):
        with pytest.raises(Exception) as ref:
            np_load(blob)
        with pytest.raises(type(ref.value)):  # the store's own error for a damaged array
            load.from_blob(blob)
    assert load.from_blob(None) is None
    with pytest.raises(StoreError):
        load.array(None)


def test_curves_and_scores_read_back_row_by_row(tmp_path):
    import json

    import xai_bench as xb
    from xai_bench.runner.store import Store

    bench = xb.Benchmark(
        ["synthetic.linear"],
        ["random", "oracle"],
        [("deletion_auc", {"steps": 4}), ("insertion_auc", {"steps": 6})],
        n_samples=10,
        chunk_size=4,  # chunks of 4, 4 and 2 samples
        seed=[0, 3],
        progress=False,
        workers=1,
    )
    res = bench.run(tmp_path / "s.sqlite", backend="local")
    with Store(tmp_path / "s.sqlite") as db:
        rows = list(
            db.rows("SELECT * FROM metric_results ORDER BY task, explainer, metric, seed, chunk")
        )
        score_rows = list(
            db.rows("SELECT * FROM scores ORDER BY task, explainer, metric, seed, sample")
        )
    expected = [
        (r["task"], r["explainer"], r["metric"], int(s), r["seed"], step, x, y)
        for r in rows
        for s, curve in zip(np_load(r["samples"]), np_load(r["curves"]), strict=True)
        for step, (x, y) in enumerate(zip(np_load(r["x"]), curve, strict=True))
    ]
    got = list(res.curves.itertuples(index=False, name=None))
    assert got == expected and len(got) == 2 * 2 * 10 * (5 + 7)
    assert res.curves["step"].dtype == np.int64 and res.curves["x"].dtype == np.float64
    for (_, r), row in zip(res.scores.iterrows(), score_rows, strict=True):
        assert (r["task"], r["sample"], r["seed"], r["score"]) == (
            row["task"],
            row["sample"],
            row["seed"],
            row["score"],
        )
        for flag, value in json.loads(row["flags"]).items():
            assert r[flag] == value
