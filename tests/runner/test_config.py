"""Config files: safe YAML, schema validation with path-named errors, CLI overrides."""

from __future__ import annotations

import textwrap

import pytest

from xai_bench.errors import InvalidInputError
from xai_bench.runner.config import ConfigError, default_suite, load_config, read_yaml

GOOD = """
name: demo
tasks: [synthetic.linear]
explainers:
  - random
  - id: lime.tabular
    params: {n_samples: 100}
metrics:
  - id: deletion_auc
    params: {steps: 4}
n_samples: 16
seeds: [0, 1]
timeout: 30
"""


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def errors_of(tmp_path, text, **kw):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), **kw)
    return info.value.errors


def test_good_config_and_short_forms(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.name == "demo" and cfg.seeds == [0, 1] and cfg.timeout == 30
    assert [e.id for e in cfg.explainers] == ["random", "lime.tabular"]
    assert cfg.explainers[1].params == {"n_samples": 100}
    assert cfg.tasks[0].id == "synthetic.linear" and cfg.backend == "processes"


def test_unknown_key_names_its_path_and_the_allowed_keys(tmp_path):
    errs = errors_of(
        tmp_path, GOOD.replace("    params: {n_samples: 100}", "    parms: {n_samples: 100}")
    )
    assert len(errs) == 1
    assert errs[0].startswith("explainers[1].parms: unknown key")
    assert "allowed keys here: id, params, label" in errs[0]
    top = errors_of(tmp_path, GOOD + "n_sample: 3\n")
    assert top[0].startswith("n_sample: unknown key") and "n_samples" in top[0]


def test_wrong_type_names_its_path(tmp_path):
    errs = errors_of(tmp_path, GOOD.replace("n_samples: 16", "n_samples: lots"))
    assert errs == ["n_samples: Input should be a valid integer (found 'lots')"]
    errs = errors_of(tmp_path, GOOD + "backend: gpu\n")
    assert errs[0].startswith("backend: Input should be 'local', 'processes' or 'dask'")


def test_unknown_explainer_id_lists_the_valid_ones(tmp_path):
    errs = errors_of(tmp_path, GOOD.replace("id: lime.tabular", "id: lime.tabluar"))
    assert len(errs) == 1
    assert errs[0].startswith(
        "explainers[1].id: unknown id 'lime.tabluar'. Did you mean 'lime.tabular'?"
        " Valid explainer ids: captum.deeplift, "
    )
    assert errs[0].count("shap.kernel") == 1


def test_valid_ids_are_listed_once_per_message(tmp_path):
    text = GOOD.replace("  - random\n", "  - rnd\n  - shap.kernl\n  - lime.tabluar\n")
    errs = errors_of(tmp_path, text)
    assert [e.split(":")[0] for e in errs] == [
        "explainers[0].id",
        "explainers[1].id",
        "explainers[2].id",
    ]
    assert "Did you mean 'shap.kernel'" in errs[1] and "Did you mean 'lime.tabular'" in errs[2]
    assert sum(e.count("captum.saliency") for e in errs) == 1


def test_unsafe_yaml_tag_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    text = f"""
        name: !!python/object/apply:os.system ["touch {marker}"]
        tasks: [synthetic.linear]
    """
    errs = errors_of(tmp_path, text)
    assert "line 2" in errs[0] and "!!python/object" in errs[0]
    assert not marker.exists()
    with pytest.raises(ConfigError):
        read_yaml("x: !!python/name:os.system", "inline")


def test_paths_from_config_cannot_leave_the_working_directory(tmp_path):
    errs = errors_of(tmp_path, GOOD + "output: ../../etc/report.html\n")
    assert errs[0].startswith("output: Value error, '../../etc/report.html' leaves")
    errs = errors_of(tmp_path, GOOD + "store: /tmp/x.sqlite\n")
    assert errs[0].startswith("store:")
    errs = errors_of(tmp_path, GOOD.replace("name: demo", "name: ../evil"))
    assert errs[0].startswith("name: String should match pattern")


def test_overrides_set_explainers_limit_quick(tmp_path):
    path = write(tmp_path, GOOD)
    cfg = load_config(path, sets=["explainers.1.params.n_samples=50", "seeds=[3]", "timeout=null"])
    assert cfg.explainers[1].params["n_samples"] == 50 and cfg.seeds == [3]
    assert cfg.timeout is None
    cfg = load_config(path, explainers=["lime.tabular", "oracle"], limit=5)
    assert [e.id for e in cfg.explainers] == ["lime.tabular", "oracle"]
    assert cfg.explainers[0].params == {"n_samples": 100}  # params kept from the file
    assert cfg.n_samples == 5
    assert load_config(path, quick=True).n_samples == 8
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["n_samples=-1"])
    assert info.value.errors[0].startswith("n_samples: Input should be greater than 0")
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["explainers.7.id=x"])
    assert "explainers.7.id" in info.value.errors[0]


def test_several_errors_are_reported_together(tmp_path):
    errs = errors_of(tmp_path, "tasks: []\nexplainers: [nope]\nmetrics: 3\nseeds: x\n")
    paths = sorted(e.split(":")[0] for e in errs)
    assert paths == ["metrics", "seeds", "tasks"]


def test_default_suite_validates():
    cfg = load_config(None)
    assert cfg.name == "default"
    assert {"random", "shap.kernel", "lime.tabular", "captum.integrated_gradients"} <= {
        e.id for e in cfg.explainers
    }
    assert "quick" in default_suite()


EXAMPLES = sorted((__import__("pathlib").Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_configs_validate(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert load_config(path, quick=True).n_samples <= 8


def test_examples_cover_every_modality_and_the_default_suite_every_library():
    assert {p.stem for p in EXAMPLES} == {
        "tabular",
        "image",
        "text",
        "generation",
        "localisation",
        "components",
    }
    cfg = load_config(None)
    assert {e.id.split(".")[0] for e in cfg.explainers} >= {
        "shap",
        "lime",
        "eli5",
        "captum",
        "inseq",
        "random",
    }
    tasks = {t.id for t in cfg.tasks}
    assert {
        "digits.cnn",
        "sentiment.transformer",
        "generation.tiny_gpt",
        "breast_cancer.mlp",
    } <= tasks


def test_loader_task_runs_through_forked_workers(tmp_path):
    text = """
        name: loader
        tasks:
          - loader: runner_plugins:make_task
            params: {n: 12}
        explainers: [shap.linear]
        metrics:
          - id: deletion_auc
            params: {steps: 4}
        n_samples: 6
        chunk_size: 3
    """
    cfg = load_config(write(tmp_path, text))
    res = cfg.benchmark(progress=False).run(backend="processes")
    assert set(res.jobs["status"]) == {"ok"}
    assert set(res.scores["task"]) == {"user.logreg"}
    assert set(res.scores["explainer"]) == {"shap.linear", "random"}
    assert len(res.scores) == 2 * 6
    bad = errors_of(tmp_path, text.replace("runner_plugins:make_task", "not a loader"))
    assert bad[0].startswith("tasks[0].loader: 'not a loader'; expected")


# -- what run would reject, found by validate (issue 11) -----------------------------
def test_duplicate_keys_and_duplicate_tasks_are_errors(tmp_path):
    errs = errors_of(tmp_path, GOOD + "n_samples: 8\n")
    assert errs == ["line 14: duplicate key 'n_samples' (first on line 11)"]
    errs = errors_of(
        tmp_path, GOOD.replace("[synthetic.linear]", "[synthetic.linear, x, synthetic.linear]")
    )
    assert "tasks[2]: the same as tasks[0]; list each task once (or with different params)" in errs
    errs = errors_of(tmp_path, GOOD.replace("  - random\n", "  - random\n  - random\n"))
    assert errs == [
        "explainers[1]: the same as explainers[0]; list each explainer once (or with different params)"
    ]


def test_alias_bomb_is_refused_quickly(tmp_path):
    import time

    levels = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    bomb = GOOD + "quick:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + levels
    start = time.perf_counter()
    errs = errors_of(tmp_path, bomb)
    assert time.perf_counter() - start < 2
    assert errs[0].endswith(
        "expands to more than 100,000 values (YAML aliases that repeat each other)"
    )
    assert len(bomb) - len(GOOD) < 600  # 9**9 values once expanded


def test_deep_nesting_and_invalid_utf8_are_clear_errors(tmp_path):
    errs = errors_of(tmp_path, "tasks: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert errs == ["nested too deeply to read (at most 64 levels are allowed)"]
    errs = errors_of(tmp_path, "tasks: " + "[" * 70 + "]" * 70 + "\n")
    assert errs == ["line 1: the config is nested more than 64 levels deep"]
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("demo", "d\xe9mo").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == ["byte 0xe9 at offset 8 is not UTF-8 text"]
    assert "Save the file as UTF-8." in str(info.value)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("n_samples: true", "n_samples: Input should be a valid integer (found True)"),
        ("n_samples: '8'", "n_samples: Input should be a valid integer (found '8')"),
        ("seeds: [0, -1]", "seeds[1]: Input should be greater than or equal to 0 (found -1)"),
        (f"seeds: [{2**70}]", f"seeds[0]: Input should be less than {2**63} (found {2**70})"),
        ("chunk_size: 2.5", "chunk_size: Input should be a valid integer (found 2.5)"),
    ],
)
def test_numbers_are_numbers_and_seeds_fit_the_store(tmp_path, text, error):
    key = text.split(":")[0]
    body = "\n".join(line for line in GOOD.splitlines() if not line.startswith(key))
    assert errors_of(tmp_path, body + "\n" + text + "\n") == [error]


def test_quick_is_checked_by_the_schema_without_quick(tmp_path):
    errs = errors_of(tmp_path, GOOD + "quick: {n_sampels: 8}\n")
    assert len(errs) == 1
    assert errs[0].startswith("quick: n_sampels: unknown key; allowed keys here: name, tasks")
    errs = errors_of(tmp_path, GOOD, sets=["quick.n_sampels=3"])
    assert errs[0].startswith("quick: n_sampels: unknown key")
    assert errs[0].endswith("(from --set quick.n_sampels=3)")
    errs = errors_of(tmp_path, GOOD + "quick: {n_samples: 0}\n")
    assert errs == ["quick: n_samples: Input should be greater than 0 (found 0)"]
    assert load_config(write(tmp_path, GOOD + "quick: {n_samples: 2}\n"), quick=True).n_samples == 2


def test_set_errors_name_the_option_not_the_file(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["name=!!python/name:os.system"])
    assert str(info.value).startswith("1 problem(s) in --set name=!!python/name:os.system:")
    assert "tags like !!python/object are refused" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["seeds=[0, 1"])
    assert str(info.value).startswith("1 problem(s) in --set seeds=[0, 1:\n  not valid YAML")
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["tasks=[synthetic.lineer]"], explainers=["shap.kernl"])
    msg = str(info.value)
    assert msg.startswith("2 problem(s) in the command-line options:") and "c.yaml" not in msg
    assert "tasks[0].id: unknown id 'synthetic.lineer'. Did you mean 'synthetic.linear'?" in msg
    assert msg.count("(from --set tasks=[synthetic.lineer])") == 1
    assert "explainers[0].id: unknown id 'shap.kernl'. Did you mean 'shap.kernel'?" in msg
    assert msg.count("(from --explainers shap.kernl)") == 1
    with pytest.raises(ConfigError) as info:  # a problem of the file stays the file's
        load_config(write(tmp_path, GOOD + "colour: red\n"), sets=["n_samples=many"])
    assert str(info.value).startswith(f"2 problem(s) in {path}:")
    assert "(found 'many') (from --set n_samples=many)" in str(info.value)
    assert "colour: unknown key" in str(info.value)


def test_parameter_values_are_checked_by_building_each_component(tmp_path):
    from xai_bench import registry
    from xai_bench.adapters.baselines import RandomExplainer
    from xai_bench.errors import InvalidInputError

    class Picky(RandomExplainer):
        name = "test.picky"

        def __init__(self, n_samples: int = 10, seed: int = 0) -> None:
            if not isinstance(n_samples, int):
                raise InvalidInputError(f"n_samples={n_samples!r}", "an integer", "Use e.g. 200.")
            super().__init__(seed=seed)
            self.n_samples = n_samples

    registry.register_explainer(Picky)
    try:
        text = GOOD.replace(
            "  - random\n", "  - id: test.picky\n    params: {n_samples: two hundred}\n"
        )
        errs = errors_of(tmp_path, text)
    finally:
        registry.unregister_explainer("test.picky")
    assert errs == [
        "explainers[0].params: n_samples='two hundred'; expected an integer. Use e.g. 200."
    ]


def test_validate_never_imports_a_loader_and_run_checks_what_it_returns(tmp_path, monkeypatch):
    import sys

    marker = tmp_path / "PWNED"
    text = GOOD.replace(
        "tasks: [synthetic.linear]",
        f"tasks:\n  - loader: 'os:system'\n    params: {{command: 'touch {marker}'}}\n"
        "  - loader: no_such_module.sub:make",
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.tasks[0].loader == "os:system" and "no_such_module" not in sys.modules
    assert not marker.exists()
    with pytest.raises(
        InvalidInputError, match=r"task loader 'os:system' returned int; expected a xai_bench.Task"
    ):
        cfg.benchmark(progress=False)
    cfg.tasks.pop(0)
    with pytest.raises(
        InvalidInputError, match=r"task loader 'no_such_module.sub:make' cannot be imported"
    ):
        cfg.benchmark(progress=False)
