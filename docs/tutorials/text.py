"""# Text: token attributions of a sentiment classifier

A TF-IDF + logistic-regression sentiment model. LIME's text explainer and ELI5's weights
are compared on ERASER's comprehensiveness and sufficiency, computed over tokens.
"""

import os

import xai_bench as xb

task = xb.load_task("sentiment.tfidf")
X = task.X[:8]
print(task.name, task.modality.value, "samples:", len(X))

for eid, params in [("random", {}), ("lime.text", {"n_samples": 200}), ("eli5.text", {})]:
    expl = xb.get_explainer(eid, **params).explain(task, X)
    comp = xb.get_metric("comprehensiveness").score(task, X, expl)
    suff = xb.get_metric("sufficiency").score(task, X, expl)
    # comprehensiveness: higher is better; sufficiency: lower is better
    print(f"{eid:10s} comprehensiveness {comp.mean:.3f}  sufficiency {suff.mean:.3f}")

bench = xb.Benchmark(
    tasks=["sentiment.tfidf"],
    explainers=["random", ("lime.text", {"n_samples": 200}), "eli5.text"],
    metrics=["comprehensiveness", "sufficiency"],
    n_samples=8,
    seed=0,
    name="text",
    progress=False,
)
results = bench.run(store="text.sqlite", backend="local")
print(results.to_frame().groupby(["explainer", "metric"])["score"].mean().round(3).unstack())
results.to_html(os.path.join(os.environ.get("XB_DOCS_OUT", "."), "text.html"))
