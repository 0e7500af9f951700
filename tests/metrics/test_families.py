"""Every built-in metric declares its family; list_metrics filters by it."""

from __future__ import annotations

import pytest

import xai_bench as xb
from xai_bench import cli
from xai_bench.metrics.base import FAMILIES, MetricInfo
from xai_bench.registry import BUILTIN_METRICS, metric_families

EXPECTED = {
    "sensitivity_max": "robustness",
    "model_randomisation": "randomisation",
    "precision_at_k": "localisation",
    "pointing_game": "localisation",
    "auc": "localisation",
    "sparseness": "complexity",
    "complexity": "complexity",
    "effective_complexity": "complexity",
    "deletion_auc": "faithfulness",
    "infidelity": "faithfulness",
}


def test_every_builtin_metric_has_a_known_family():
    families = metric_families()
    for name in BUILTIN_METRICS:
        assert families[name] in FAMILIES, name
        assert xb.get_metric(name).info.family == families[name]
    for name, family in EXPECTED.items():
        assert families[name] == family, name


def test_list_metrics_by_family():
    assert xb.list_metrics("complexity") == ["complexity", "effective_complexity", "sparseness"]
    assert set(xb.list_metrics("localisation")) >= {"precision_at_k", "relevance_rank_accuracy"}
    assert set().union(*(xb.list_metrics(f) for f in FAMILIES)) >= set(BUILTIN_METRICS)
    with pytest.raises(xb.InvalidInputError, match="localization"):
        xb.list_metrics("localization")


def test_an_unknown_family_is_refused_where_it_is_declared():
    with pytest.raises(xb.InvalidInputError, match="family='faithful'"):
        MetricInfo(name="x", higher_is_better=True, family="faithful")


def test_cli_lists_the_family_column(capsys):
    assert cli.main(["list", "metrics"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    rows = {words[0]: words[1] for words in lines if len(words) > 1}
    assert rows["sparseness"] == "complexity" and rows["deletion_auc"] == "faithfulness"


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("auc", {"relevance": "absolute"}, "relevance='absolute'"),
        ("pointing_game", {"weighted": "yes"}, "weighted='yes'"),
        ("top_k_intersection", {"k": 0}, "k=0"),
        ("sparseness", {"eps": -1.0}, "eps=-1.0"),
        ("effective_complexity", {"eps": "small"}, "eps='small'"),
        ("focus", {"seed": -1}, "seed=-1"),
    ],
)
def test_new_metrics_check_their_parameters_when_built(name, params, message):
    with pytest.raises(xb.InvalidInputError, match=message):
        xb.get_metric(name, **params)
