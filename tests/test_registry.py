"""Registry: lazy built-ins, register_* guard, unknown ids, missing extras, broken plugins."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

import xai_bench as xb
from xai_bench import registry
from xai_bench.errors import InvalidInputError, MissingDependencyError, UnknownNameError
from xai_bench.registry import unregister_explainer


def test_listing_does_not_import_backends():
    code = (
        "import sys, xai_bench as xb; xb.list_explainers(); xb.list_metrics(); xb.list_tasks();"
        "heavy = [m for m in ('torch', 'shap', 'lime', 'captum', 'inseq', 'pandas') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_unknown_explainer_lists_valid_ids_and_is_a_keyerror():
    with pytest.raises(UnknownNameError) as info:
        xb.get_explainer("shap.kernal")
    msg = str(info.value)
    assert "'shap.kernal'" in msg and "shap.kernel" in msg and "xai-bench list explainers" in msg
    assert isinstance(info.value, KeyError)
    assert " Did you mean 'shap.kernel'? Valid explainer ids: captum.deeplift, " in msg
    assert msg.count("lime.tabular") == 1  # the valid ids, once
    with pytest.raises(UnknownNameError) as info:
        xb.get_metric("deletion_aoc")
    assert "Did you mean 'deletion_auc'?" in str(info.value)


def test_bad_parameter_names_the_allowed_ones():
    with pytest.raises(InvalidInputError) as info:
        xb.get_explainer("random", sed=3)
    assert "seed" in str(info.value) and "sed" in str(info.value)


def test_register_explainer_guards_overwrite():
    class Mine(xb.BaseExplainer):
        name = "mine.const"
        capabilities = xb.Capabilities(modalities=frozenset(xb.Modality))

        def __init__(self, value: float = 1.0) -> None:
            self.value = value

        def _attribute(self, task, X, targets, scorer):
            return X * 0 + self.value

    xb.register_explainer(Mine)
    try:
        assert "mine.const" in xb.list_explainers()
        with pytest.raises(InvalidInputError, match="already registered"):
            xb.register_explainer(Mine)
        with pytest.raises(InvalidInputError, match="already registered"):
            xb.register_explainer(Mine, name="random")
        task = xb.load_task("synthetic.linear")
        e = xb.get_explainer("mine.const", value=2.5).explain(task, task.X[:3])
        assert (e.attributions == 2.5).all() and e.params == {"value": 2.5}
    finally:
        unregister_explainer("mine.const")
    assert "mine.const" not in xb.list_explainers()


def test_missing_dependency_error_names_the_extra():
    err = MissingDependencyError("shap", "shap")
    assert "xai-bench[shap] is not installed" in str(err)
    assert "pip install 'xai-bench[shap]'" in str(err) and isinstance(err, ImportError)


def test_import_error_of_a_backend_becomes_missing_dependency(tmp_path, monkeypatch):
    pkg = tmp_path / "xai_bench_fake_adapter.py"
    pkg.write_text("import shap_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.EXTRAS, "shap_not_installed_anywhere", "shap")
    monkeypatch.setattr(
        registry.importlib,
        "import_module",
        lambda name: __import__("xai_bench_fake_adapter"),
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'xai-bench\[shap\]'"):
        registry._load_path("adapters.whatever:X")


class _EP:
    """A real-shaped entry point whose target cannot be imported."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value, self.dist = name, value, None

    def load(self):
        raise ImportError("No module named 'broken_plugin'")


def test_broken_plugin_is_marked_unavailable_not_fatal(monkeypatch):
    eps = [_EP("broken.one", "broken_plugin:Explainer")]
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: eps)
    reg = registry._Registry(
        "explainer", {"random": "adapters.baselines:RandomExplainer"}, "xai_bench.explainers"
    )
    assert reg.names() == ["broken.one", "random"]  # listing never loads it
    with pytest.raises(InvalidInputError, match="unavailable"):
        reg.resolve("broken.one")
    assert "broken.one" in reg.unavailable()
    assert "No module named" in reg.unavailable()["broken.one"]
    assert reg.resolve("random").__name__ == "RandomExplainer"  # the host keeps working
    assert reg.names() == ["random"]  # once found broken, no longer offered as valid
    with pytest.raises(UnknownNameError) as info:
        reg.resolve("broken.two")
    assert "Valid explainer ids: random." in str(info.value)
