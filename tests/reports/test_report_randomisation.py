"""The report's model-randomisation cascade: one curve per explainer, scores over all
features and over non-zero inputs."""

from __future__ import annotations

import re

import numpy as np

from xai_bench.reports import render_report

# a legend row: name, then any "= other" notes, then the cells
ROW = r'<code>([^<]+)</code>(?:<small class="same">= <code>[^<]+</code></small>)*</th>'


def test_cascade_curves_per_explainer(default_suite_results, tmp_path):
    r = default_suite_results
    html = render_report(r, tmp_path / "r.html").read_text()
    figures = re.findall(
        r'<figure data-task="[^"]*" class="card cascade">(.*?)</figure>', html, re.S
    )
    cdf = r.curves[r.curves["metric"] == "model_randomisation"]
    tasks = sorted(set(cdf["task"]))
    assert tasks and len(figures) == len(tasks)  # every torch task of the suite
    for fig, task in zip(figures, sorted(tasks, key=list(r.tasks).index), strict=True):
        assert f"<code>{task}</code>" in fig and "Spearman of |phi|" in fig
        sub = cdf[cdf["task"] == task]
        n_steps = sub["step"].nunique()
        lines = re.findall(
            r'<polyline class="line[^"]*" stroke="[^"]+" [^>]*?points="([^"]+)"', fig
        )
        labels = re.findall(r'data-label="([^"]+)"', fig)
        assert sorted(labels) == sorted(set(sub["explainer"]))  # one curve per explainer
        assert all(len(p.split()) == n_steps for p in lines)
        # the curve's last point is the score (mean over samples of the last step)
        rows = dict(re.findall(ROW + r"<td>([^<]+)</td>", fig))
        sc = r.scores[(r.scores["task"] == task) & (r.scores["metric"] == "model_randomisation")]
        for e, v in rows.items():
            assert float(v) == round(sc.loc[sc["explainer"] == e, "score"].mean(), 2)


def test_zero_pixels_inflate_the_all_feature_score_in_the_report(default_suite_results, tmp_path):
    """digits: input x gradient is 0 on the blank pixels under any model."""
    html = render_report(default_suite_results, tmp_path / "r.html").read_text()
    fig = re.search(
        r'class="card cascade">(?:(?!</figure>).)*?<code>digits\.cnn</code>.*?</figure>', html, re.S
    )
    assert fig is not None
    rows = {
        e: (float(a), float(b))
        for e, a, b in re.findall(ROW + r"<td>([^<]+)</td><td>([^<]+)</td>", fig.group(0))
    }
    allf, nonzero = rows["captum.input_x_gradient"]
    assert allf - nonzero > 0.2 and np.isfinite(nonzero)
    # IG, deeplift and input x gradient coincide on digits: the legend says so
    assert '<small class="same">= <code>' in fig.group(0)
