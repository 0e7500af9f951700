"""# Image: saliency maps of a small CNN

A small torch CNN on scikit-learn's 8×8 digits. Gradient methods from Captum against a
random control, scored by deletion with a zero (black) baseline.
"""

import os

import numpy as np

import xai_bench as xb

task = xb.load_task("digits.cnn")
X = task.X[:8]
print(task.name, "input shape:", X.shape)

for eid in ["random", "captum.saliency", "captum.integrated_gradients"]:
    expl = xb.get_explainer(eid).explain(task, X)
    res = xb.get_metric("deletion_auc", steps=16, baseline="zero").score(task, X, expl)
    top = np.abs(expl.attributions[0]).reshape(-1).argmax()
    print(f"{eid:28s} deletion AUC {res.mean:.3f} (lower is better); sample 0 top pixel {top}")

bench = xb.Benchmark(
    tasks=["digits.cnn"],
    explainers=["random", "captum.saliency", "captum.integrated_gradients"],
    metrics=[
        ("deletion_auc", {"steps": 16, "baseline": "zero"}),
        ("insertion_auc", {"steps": 16, "baseline": "zero"}),
    ],
    n_samples=8,
    seed=0,
    name="image",
    progress=False,
)
results = bench.run(store="image.sqlite", backend="local")
print(results.to_frame().groupby(["explainer", "metric"])["score"].mean().round(3).unstack())
results.to_html(os.path.join(os.environ.get("XB_DOCS_OUT", "."), "image.html"))
