"""Progress: one plain line per stage off a terminal, rich bars on one."""

from __future__ import annotations

import io

from xai_bench.runner.progress import StageProgress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_line_per_stage_when_not_a_terminal():
    out = io.StringIO()
    with StageProgress("explain", 4, stream=out) as bar:
        for status in ["ok", "ok", "failed", "skipped"]:
            bar.update(status)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[xai-bench] explain: 4/4 jobs (2 ok, 1 failed, 1 skipped) in ")


def test_rich_bar_on_a_terminal_shows_counts():
    out = FakeTTY()
    with StageProgress("score", 3, stream=out) as bar:
        for status in ["ok", "timeout", "crashed"]:
            bar.update(status)
    text = out.getvalue()
    assert "score" in text and "3/3" in text and "1 timeout, 1 crashed" in text
    assert "[xai-bench]" not in text


def test_silent_when_disabled():
    out = FakeTTY()
    with StageProgress("score", 1, enabled=False, stream=out) as bar:
        bar.update("ok")
    assert out.getvalue() == ""
