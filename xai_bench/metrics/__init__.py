"""Faithfulness metrics: one batched masking engine (``perturb``) shared by every metric.

Modules: ``perturb`` (ranking, grids, chunked scoring), ``maskers`` (what removal means),
``deletion`` (deletion/insertion/LeRF AUC, ABPC, AOPC), ``eraser`` (comprehensiveness,
sufficiency, and the shared ``perturbation_suite``), ``ablation`` (ablation and
faithfulness correlation), ``infidelity``, Quantus's other faithfulness metrics
(``groupwise``: faithfulness estimate and monotonicity-Nguyen; ``monotonicity``: Arya's;
``regions``: region perturbation and selectivity; ``irof``; ``sensitivity_n``; ``road``;
``dasgupta``: Dasgupta et al.'s sufficiency), ``robustness`` (sensitivity-max), ``randomisation``
(cascading model randomisation), ``groundtruth`` (precision@k), ``agreement`` (rank correlation between
explainers). Get metrics by id with ``xai_bench.get_metric``.
"""
