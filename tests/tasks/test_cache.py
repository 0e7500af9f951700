"""The model cache loads only the model types the built-in tasks need."""

from __future__ import annotations

import numpy as np
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from xai_bench.tasks import _cache


def test_a_planted_cache_file_calling_eval_is_refitted_not_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_BENCH_CACHE", str(tmp_path))
    planted = _cache.cache_dir() / "planted.skops"
    sio.dump(FunctionTransformer(func=eval), planted)
    assert "builtins.eval" in sio.get_untrusted_types(file=planted)
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    model = _cache.cached_sklearn("planted", lambda: LogisticRegression().fit(X, y))
    assert isinstance(model, LogisticRegression)
    assert sio.get_untrusted_types(file=planted) == []  # the refit model replaced the file
    again = _cache.cached_sklearn("planted", lambda: None)  # a clean file loads from cache
    assert isinstance(again, LogisticRegression)
    np.testing.assert_array_equal(again.coef_, model.coef_)


def test_the_builtin_gradient_boosting_model_still_loads_from_cache(tmp_path, monkeypatch):
    from sklearn.ensemble import GradientBoostingClassifier

    monkeypatch.setenv("XAI_BENCH_CACHE", str(tmp_path))
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    fitted = _cache.cached_sklearn(
        "gbt", lambda: GradientBoostingClassifier(n_estimators=3).fit(X, y)
    )
    loaded = _cache.cached_sklearn("gbt", lambda: None)  # None: refitting would fail
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
