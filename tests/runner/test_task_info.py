"""Task information kept with the results (what reports show), also after a reload."""

from __future__ import annotations

import xai_bench as xb
from xai_bench.runner.results import Results


def test_generation_units_record_the_token_they_explain(tmp_path):
    task = xb.load_task("generation.tiny_gpt")
    store = tmp_path / "gen.sqlite"
    run = xb.Benchmark(
        tasks=[task],
        explainers=["inseq.saliency"],
        metrics=[("deletion_auc", {"steps": 4})],
        n_samples=5,
    ).run(store=str(store), backend="local")
    expected = task.tokenizer.convert_ids_to_tokens([int(t) for t in task.y[:5]])
    assert run.tasks[task.name]["target_tokens"] == expected
    # a unit's prefix followed by its target is the next unit's prefix in the same sequence
    info = run.tasks[task.name]
    units = task.meta["units"]
    for k in range(4):
        if units[k][0] == units[k + 1][0]:
            assert info["tokens"][k + 1] == [*info["tokens"][k], expected[k]]
    assert Results.load(str(store)).tasks[task.name]["target_tokens"] == expected


def test_regression_task_records_its_output_kind_and_the_report_labels_the_prediction(tmp_path):
    store = tmp_path / "reg.sqlite"
    run = xb.Benchmark(
        tasks=["synthetic.regression"],
        explainers=["captum.integrated_gradients"],
        metrics=[("deletion_auc", {"steps": 4})],
        n_samples=4,
    ).run(store=str(store), backend="local")
    assert run.tasks["synthetic.regression"]["output_kind"] == "regression"
    frame = run.to_frame()
    assert len(frame) == 2 * 4 and frame["score"].notna().all()  # with the random control
    assert Results.load(str(store)).tasks["synthetic.regression"]["output_kind"] == "regression"
    html = tmp_path / "reg.html"
    run.to_html(str(html))
    assert ">prediction<" in html.read_text()  # the curve's y axis, not p(target)
