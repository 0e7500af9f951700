"""Conformance checks for adapter authors: run them on your explainer in your own tests.

>>> from xai_bench.testing import check_explainer
>>> check_explainer(MyExplainer(n_samples=50), xb.load_task("synthetic.linear")).raise_failures()
"""

from .explainer_checks import ConformanceError, ConformanceReport, check_explainer
from .metric_checks import check_metric

__all__ = ["ConformanceError", "ConformanceReport", "check_explainer", "check_metric"]
