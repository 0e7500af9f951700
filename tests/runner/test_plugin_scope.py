"""Toy plugins are registered per module and unregistered after (registry.unregister_*)."""

from __future__ import annotations

import pytest
import runner_plugins

import xai_bench as xb
from xai_bench.adapters.baselines import RandomExplainer
from xai_bench.registry import explainer_class, unregister_explainer, unregister_metric

TOY_EXPLAINERS = {cls.name for cls in runner_plugins.EXPLAINERS}


def test_the_toy_plugins_exist_only_inside_the_scope():
    assert not TOY_EXPLAINERS & set(xb.list_explainers())
    with runner_plugins.registered():
        assert set(xb.list_explainers()) >= TOY_EXPLAINERS
        assert "test.top_mass" in xb.list_metrics()
        assert xb.get_explainer("test.slow", seconds=0.0).seconds == 0.0
    assert not TOY_EXPLAINERS & set(xb.list_explainers())
    assert "test.top_mass" not in xb.list_metrics()
    with pytest.raises(xb.UnknownNameError):
        xb.get_explainer("test.slow")


def test_a_scope_refuses_ids_registered_elsewhere():
    with (
        runner_plugins.registered(),
        pytest.raises(xb.InvalidInputError, match="already"),
        runner_plugins.registered(),
    ):
        pass  # pragma: no cover
    assert not TOY_EXPLAINERS & set(xb.list_explainers())


def test_unregister_restores_an_overwritten_builtin():
    xb.register_explainer(runner_plugins.Slow, name="random", overwrite=True)
    assert explainer_class("random") is runner_plugins.Slow
    assert unregister_explainer("random") is runner_plugins.Slow
    assert explainer_class("random") is RandomExplainer
    assert "random" in xb.list_explainers()


def test_unregister_refuses_ids_it_did_not_register():
    explainer_class("random")  # resolved and cached, but not registered in-process
    for name, unregister in (("random", unregister_explainer), ("nope", unregister_metric)):
        with pytest.raises(xb.InvalidInputError) as info:
            unregister(name)
        assert "was not registered in this process" in str(info.value)
    assert explainer_class("random") is RandomExplainer
