"""# Your scikit-learn model

Any fitted classifier with `predict_proba` becomes a task with `Task.from_sklearn`.
Pass a DataFrame to keep the feature names (explainers then reorder columns by name).
"""

import os

from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import xai_bench as xb

data = load_wine(as_frame=True)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
    data.data, data.target
)

task = xb.Task.from_sklearn(
    model,
    data.data,
    data.target,
    name="wine.logreg",
    class_names=list(data.target_names),
)
print(task.name, task.modality.value, "features:", task.feature_names)

X = task.X[:4]
expl = xb.get_explainer("shap.permutation", max_evals=200).explain(task, X)
print("attributions:", expl.attributions.shape, "targets (predicted classes):", expl.targets)
res = xb.get_metric("deletion_auc", steps=13).score(task, X, expl)
print(f"deletion AUC {res.mean:.3f}; baseline: {res.params['baseline']}")

results = xb.Benchmark(
    tasks=[task],
    explainers=["random", ("shap.permutation", {"max_evals": 200})],
    metrics=[("deletion_auc", {"steps": 13})],
    n_samples=8,
    name="wine",
    progress=False,
).run(store="sklearn.sqlite", backend="local")
print(results.to_frame().groupby("explainer")["score"].mean().round(3))
results.to_html(os.path.join(os.environ.get("XB_DOCS_OUT", "."), "own_sklearn.html"))
