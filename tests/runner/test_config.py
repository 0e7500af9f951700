"""Config files: safe YAML, schema validation with path-named errors, CLI overrides."""

from __future__ import annotations

import textwrap

import pytest

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
    assert errs == [
        "n_samples: Input should be a valid integer, unable to parse string as an"
        " integer (found 'lots')"
    ]
    errs = errors_of(tmp_path, GOOD + "backend: gpu\n")
    assert errs[0].startswith("backend: Input should be 'local', 'processes' or 'dask'")


def test_unknown_explainer_id_lists_the_valid_ones(tmp_path):
    errs = errors_of(tmp_path, GOOD.replace("id: lime.tabular", "id: lime.tabluar"))
    assert len(errs) == 1
    assert errs[0].startswith("explainers[1].id: unknown id 'lime.tabluar'; allowed: ")
    assert "lime.tabular" in errs[0] and "shap.kernel" in errs[0]


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
    assert {p.stem for p in EXAMPLES} == {"tabular", "image", "text", "generation"}
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
