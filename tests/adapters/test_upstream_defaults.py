"""Each adapter declares the wrapped library's defaults, read from the installed library."""

from __future__ import annotations

import inspect

import pytest

from xai_bench import registry
from xai_bench._upstream import Upstream, resolve_upstream_defaults

LIBRARIES = ("shap.", "lime.", "eli5.", "captum.")
IDS = [e for e in registry.list_explainers() if e.startswith(LIBRARIES)]


@pytest.mark.parametrize("eid", IDS)
def test_declared_upstream_defaults_name_our_parameters_and_resolve(eid: str) -> None:
    cls = registry.explainer_class(eid)
    ours = inspect.signature(cls.__init__).parameters
    declared = cls.upstream_defaults
    assert set(declared) <= set(ours), f"{eid}: {set(declared) - set(ours)} are not parameters"
    resolved = resolve_upstream_defaults(cls)
    for name, value in declared.items():
        if isinstance(value, Upstream):  # a signature that moved would say "unknown (...)"
            assert not str(resolved[name]).startswith("unknown"), resolved[name]


def test_values_are_the_libraries_own() -> None:
    # the numbers the README's "ours (upstream's)" columns quote, read from the libraries
    got = {
        eid: resolve_upstream_defaults(registry.explainer_class(eid))
        for eid in (
            "lime.tabular",
            "lime.image",
            "captum.integrated_gradients",
            "captum.kernel_shap",
            "captum.lime",
            "captum.gradient_shap",
            "shap.permutation",
            "eli5.text",
        )
    }
    assert got["lime.tabular"]["n_samples"] == 5000
    assert got["lime.tabular"]["discretize_continuous"] is True
    assert got["lime.image"]["n_samples"] == 1000
    assert got["captum.integrated_gradients"]["n_steps"] == 50
    assert got["captum.integrated_gradients"]["baseline"].startswith("zeros")
    assert got["captum.kernel_shap"]["n_samples"] == 25
    assert got["captum.lime"]["n_samples"] == 25
    assert got["captum.lime"]["surrogate"] == "Lasso(alpha=0.01)"
    assert got["captum.gradient_shap"]["n_samples"] == 5
    assert got["shap.permutation"]["max_evals"] == 500
    assert got["eli5.text"]["n_samples"] == 5000


def test_a_reference_that_no_longer_exists_is_reported_not_raised() -> None:
    class Moved:
        upstream_defaults = {
            "n_steps": Upstream("captum.attr:IntegratedGradients.attribute", "no_such"),
            "x": Upstream("captum.attr:NoSuchMethod.attribute", "n_steps"),
        }

    got = resolve_upstream_defaults(Moved)
    assert got["n_steps"].startswith("unknown") and "no_such" in got["n_steps"]
    assert got["x"].startswith("unknown") and "NoSuchMethod" in got["x"]
