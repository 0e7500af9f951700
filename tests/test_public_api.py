"""The public API is exactly xai_bench.__all__, and every name resolves."""

import xai_bench

EXPECTED = {
    "BaseExplainer",
    "Benchmark",
    "Capabilities",
    "Explainer",
    "Explanation",
    "IncompatibleError",
    "InvalidInputError",
    "Metric",
    "MetricInfo",
    "MetricResult",
    "MissingDependencyError",
    "Modality",
    "Requirement",
    "Results",
    "Task",
    "UnknownNameError",
    "XaiBenchError",
    "__version__",
    "get_explainer",
    "get_metric",
    "list_explainers",
    "list_metrics",
    "list_tasks",
    "load_task",
    "register_explainer",
    "register_metric",
}


def test_all_is_the_public_api():
    assert set(xai_bench.__all__) == EXPECTED


def test_every_public_name_resolves():
    for name in xai_bench.__all__:
        assert getattr(xai_bench, name) is not None, name


def test_public_members_not_in_all_are_private_or_modules():
    import types

    extra = {
        n
        for n, v in vars(xai_bench).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n not in EXPECTED
    }
    assert extra <= {"annotations", "Any"}, extra
