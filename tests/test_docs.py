"""The documentation site: generated reference pages follow the registry, and every public
name has a numpydoc docstring (the site's API reference is built from them)."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.util
import inspect
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.metrics._common import BaseMetric
from xai_bench.metrics.base import MetricResult

ROOT = Path(__file__).resolve().parents[1]


def _load_generator():
    spec = importlib.util.spec_from_file_location("xb_docs", ROOT / "docs" / "xb_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


class _DocsProbe(xb.BaseExplainer):
    """Probe explainer for the docs generator."""

    name: ClassVar[str] = "docsprobe.occlusion"
    library: ClassVar[str] = "xai-bench"
    capabilities: ClassVar[xb.Capabilities] = xb.Capabilities(
        modalities=frozenset({xb.Modality.IMAGE, xb.Modality.TABULAR}),
        stochastic=True,
        output_space="log_odds",
    )

    def __init__(self, window: int = 3, seed: int = 0) -> None:
        self.window = window
        self.seed = seed

    def _attribute(self, task, X, targets, scorer):
        return np.zeros(X.shape)


def _probe_score(task, X, explanation, *, steps=7):
    return MetricResult("docsprobe_metric", np.zeros(len(X)))


class _ProbeMetric(BaseMetric):
    """Probe metric for the docs generator."""

    info: ClassVar[xb.MetricInfo] = xb.MetricInfo(
        name="docsprobe_metric",
        higher_is_better=False,
        range=(0.0, float("inf")),
        description="A probe that measures nothing",
        reference="Nobody et al. 2026",
    )
    _fn = staticmethod(_probe_score)

    def __init__(self, steps: int = 7) -> None:
        self.steps = steps


def test_registering_an_explainer_adds_its_page_and_row():
    assert "docsprobe" not in gen.explainer_pages()
    xb.register_explainer(_DocsProbe)
    try:
        pages = gen.explainer_pages()
        index = gen.explainers_index(pages)
    finally:
        xb.registry.unregister_explainer("docsprobe.occlusion")
    page = pages["docsprobe"]
    row = (
        "| [`docsprobe.occlusion`](#docsprobe-occlusion) | image, tabular | `log_odds` | yes | — |"
    )
    assert row in page
    assert "| `window` | `3` |" in page and "| `seed` | `0` |" in page
    assert "[`docsprobe.occlusion`](explainers/docsprobe.md#docsprobe-occlusion)" in index
    assert "docsprobe" not in gen.explainer_pages()  # unregistered: the page goes too


def test_every_builtin_explainer_has_a_row_with_its_declared_capabilities():
    pages = gen.explainer_pages()
    for eid in xb.list_explainers():
        cls = xb.registry.explainer_class(eid)
        caps = cls.capabilities
        page = pages[gen.library_of(eid)]
        mods = ", ".join(sorted(m.value for m in caps.modalities))
        assert f"| [`{eid}`]" in page, eid
        assert f"| {mods} | `{caps.output_space}` | {'yes' if caps.stochastic else 'no'} |" in page


def test_registering_a_metric_adds_its_entry():
    xb.register_metric(_ProbeMetric)
    try:
        page = gen.metrics_page()
    finally:
        xb.registry.unregister_metric("docsprobe_metric")
    assert (
        "| [`docsprobe_metric`](#docsprobe-metric) | lower | [0, ∞) | faithfulness | "
        "generation, image, tabular, text | A probe that measures nothing |"
    ) in page
    assert "- reference: Nobody et al. 2026" in page
    assert "| `steps` | `7` |" in page
    assert "docsprobe_metric" not in gen.metrics_page()


def test_metric_entries_follow_metric_info():
    page = gen.metrics_page()
    for mid in xb.list_metrics():
        info = xb.registry.metric_class(mid).info
        better = "higher" if info.higher_is_better else "lower"
        assert f"| [`{mid}`](#{gen._anchor(mid)}) | {better} |" in page, mid
    assert "Quantus" in page and "ERASER" in page  # how to reproduce their numbers


def test_every_builtin_metric_declares_a_formula_shown_as_display_math():
    page = gen.metrics_page()
    for mid in xb.list_metrics():
        formula = xb.registry.metric_class(mid).info.formula
        assert formula.strip(), f"{mid} declares no formula"
        section = page.split(f"{{#{gen._anchor(mid)}}}", 1)[1].split("\n## ", 1)[0]
        assert f"$$\n{formula}\n$$" in section, mid
    assert xb.MetricInfo(name="plugin", higher_is_better=True).formula == ""  # plugins: optional


def test_readme_sections_are_included_verbatim_and_missing_ones_fail():
    text = gen.readme_section("Running at scale", start="**Memory cap.**", end="**Statistics.**")
    assert text.startswith("**Memory cap.**") and "RLIMIT_AS" in text
    assert "**Statistics.**" not in text
    with pytest.raises(KeyError, match="no section"):
        gen.readme_section("No such heading")
    assert "<!--" not in gen.expand("<!-- readme: Quick start -->")


def test_config_fields_follow_the_pydantic_model():
    from xai_bench.runner.config import Config

    table = gen.config_fields()
    for name in Config.model_fields:
        assert f"| `{name}` |" in table
    assert "| `n_samples` | `int` | `64` | Gt(gt=0) |" in table


# ---- docstrings of the public API ------------------------------------------------------

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}\s*$", re.M)


def _public_objects() -> dict[str, object]:
    import xai_bench.testing as testing

    objs = {f"xai_bench.{n}": getattr(xb, n) for n in xb.__all__ if n != "__version__"}
    objs |= {f"xai_bench.testing.{n}": getattr(testing, n) for n in testing.__all__}
    for path in gen.metric_functions():
        module, _, name = path.rpartition(".")
        objs[path] = getattr(importlib.import_module(module), name)
    return objs


def _needs(obj: object) -> set[str]:
    """The numpydoc sections a public object's docstring must have."""
    if inspect.isclass(obj):
        if issubclass(obj, enum.Enum) or getattr(obj, "_is_protocol", False):
            return set()
        if issubclass(obj, BaseException):
            init = obj.__init__
            if init is BaseException.__init__ or init is Exception.__init__:
                return set()
        fields = dataclasses.is_dataclass(obj)
        try:
            params = [
                p
                for p in inspect.signature(obj).parameters.values()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            ]
        except (TypeError, ValueError):
            params = []
        return {"Parameters|Attributes"} if params or fields else set()
    sig = inspect.signature(obj)
    need = set()
    if [p for p in sig.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]:
        need.add("Parameters")
    ret = sig.return_annotation
    if ret not in (None, "None", inspect.Signature.empty):
        need.add("Returns|Yields")
    return need


def test_every_public_name_has_a_numpydoc_docstring():
    missing = []
    for path, obj in _public_objects().items():
        doc = inspect.getdoc(obj)
        if not doc:
            missing.append(f"{path}: no docstring")
            continue
        have = set(_SECTION.findall(doc))
        for need in _needs(obj):
            if not have & set(need.split("|")):
                missing.append(f"{path}: no {need} section")
    assert not missing, "\n".join(missing)


def test_a_failing_tutorial_fails_the_build(tmp_path, monkeypatch):
    pytest.importorskip("mkdocs")
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        hooks = importlib.import_module("hooks")
    finally:
        sys.path.remove(str(ROOT / "docs"))
    from mkdocs.exceptions import PluginError

    (tmp_path / "tutorials").mkdir()
    (tmp_path / "tutorials" / "ok.py").write_text("print('hello', 6 * 7)\n")
    (tmp_path / "tutorials" / "broken.py").write_text(
        "import xai_bench\nxai_bench.load_task('nope')\n"
    )
    monkeypatch.setattr(hooks, "HERE", tmp_path)
    name, stdout, seconds = hooks._run_tutorial("ok", tmp_path)
    assert (name, stdout) == ("ok", "hello 42\n") and seconds > 0
    with pytest.raises(PluginError, match="(?s)tutorial broken failed .*unknown task 'nope'"):
        hooks._run_tutorial("broken", tmp_path)


_ERRORS = re.compile(
    r"raise (?:errors\.)?(XaiBenchError|InvalidInputError|UnknownNameError|IncompatibleError"
    r"|MissingDependencyError|StoreError|ConformanceError)\b"
)


def _raises_xai_error(obj: object) -> bool:
    """Whether a function (or a class's constructor) raises an ``xai_bench.errors`` error."""
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return False
        targets = [vars(obj).get(m) for m in ("__init__", "__post_init__")]
    else:
        targets = [obj]
    for fn in targets:
        try:
            if fn is not None and _ERRORS.search(inspect.getsource(fn)):
                return True
        except (OSError, TypeError):
            continue
    return False


def _top_level() -> dict[str, object]:
    return {
        p: o
        for p, o in _public_objects().items()
        if p.count(".") == 1 or p.startswith("xai_bench.testing.")
    }


def test_public_names_that_raise_document_it_and_every_name_has_an_example():
    missing = []
    for path, obj in _public_objects().items():
        have = set(_SECTION.findall(inspect.getdoc(obj) or ""))
        if _raises_xai_error(obj) and "Raises" not in have:
            missing.append(f"{path}: raises but has no Raises section")
    for path, obj in _top_level().items():
        if "Examples" not in set(_SECTION.findall(inspect.getdoc(obj) or "")):
            missing.append(f"{path}: no Examples section")
    assert not missing, "\n".join(missing)


def test_the_examples_of_the_public_api_run(monkeypatch):
    import doctest

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finder = doctest.DocTestFinder(recurse=False)
    without = []
    for path, obj in _top_level().items():
        tests = [t for t in finder.find(obj, path, globs={"xb": xb, "np": np}) if t.examples]
        without += [] if tests else [path]
        for test in tests:
            runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert not without, f"no runnable example: {without}"


def test_every_example_config_has_a_gallery_row_and_a_quick_suite(tmp_path):
    rows = gen.gallery_examples().splitlines()
    configs = sorted((gen.ROOT / "examples").glob("*.yaml"))
    assert len(rows) == len(configs) >= 5
    for row, path in zip(rows, configs, strict=True):
        assert f"(gallery/example-{path.stem}.html)" in row
        assert f"`xai-bench run examples/{path.name} --quick`" in row
    one = tmp_path / "demo.yaml"
    one.write_text("# Demo: two lines\n# of summary.\n#   xai-bench run demo.yaml\nname: demo\n")
    assert gen.example_summary(one) == "Demo: two lines of summary."


def test_a_pipe_in_a_description_stays_inside_its_table_cell():
    page = gen.metrics_page()
    row = next(line for line in page.splitlines() if line.startswith("| [`sparseness`]"))
    assert "Gini index of \\|attribution\\|" in row and row.count(" | ") == 5
