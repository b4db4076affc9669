"""Batch outputs for people: a formatted summary table, rounded results, a counting progress bar."""

import re

import pandas as pd
import pytest

import orqmagic
from orqmagic.evaluation.batch import Progress
from orqmagic.render.numbers import duration_ms, formatted, human
from orqmagic.render.table import Summary


@pytest.fixture
def results(sandbox_env):
    rows = [{"topic": t} for t in ("billing", "refunds", "api keys", "limits")]
    return orqmagic.invoke_many("support-bot", rows, prompt="Explain {{topic}}", progress=False)


def test_summarize_is_a_formatted_table_with_units(results):
    summary = orqmagic.summarize(results)
    assert summary["rows"] == 4 and summary["errors"] == 0 and summary["latency_p50_ms"] > 0  # raw numbers by name
    assert isinstance(summary, pd.Series) and summary.index[0] == "rows" and summary.attrs["units"]["latency_p50_ms"] == "ms"
    text = repr(summary)
    assert text.splitlines()[0] == "support-bot: 4 rows"
    assert re.search(r"^latency_p50_ms +\d[\d.,]* (ms|s)$", text, re.MULTILINE)  # shown under the key it is indexed by
    assert re.search(r"^error_rate +0\.0 %$", text, re.MULTILINE)
    assert re.search(r"^completion_tokens +[\d,]+ tokens  total$", text, re.MULTILINE)
    assert "dtype" not in text and not re.search(r"\d\.\d{4,}", text)  # no float noise
    html = summary._repr_html_()
    assert html.startswith("<table") and "<code>latency_p90_ms</code>" in html
    rows = [line.split()[0] for line in text.splitlines()[1:]]
    assert set(rows) <= set(summary.index)  # every label is a key


def test_trial_statistics_render_as_intervals(sandbox_env):
    rows = [{"topic": t} for t in ("billing", "refunds")]  # two rows: a wide interval (it may dip below 0)
    results = orqmagic.invoke_many("support-bot", rows, prompt="Explain {{topic}}", trials=3, progress=False,
                                   prices={"openai/gpt-4o-mini": (0.15, 0.60)})
    summary = orqmagic.summarize(results)
    text = repr(summary)
    assert re.search(r"^latency_ms_mean +[\d.,]+ (ms|s) \(-?[\d.,]+( ms| s)?–[\d.,]+( ms| s)?\)  mean, 95% CI$", text,
                     re.MULTILINE)
    assert re.search(r"^agreement +100\.0 %", text, re.MULTILINE)
    assert re.search(r"^estimated_cost +\$0\.\d{4}", text, re.MULTILINE)
    assert "ci95" not in text  # the interval bounds sit in their mean's row
    assert summary["latency_ms_ci95_low"] <= summary["latency_ms_mean"] <= summary["latency_ms_ci95_high"]
    assert list(summary[["agreement", "trials"]]) == [1.0, 3]


def test_extra_statistics_just_render_and_units_are_written_once():
    summary = Summary(title="support-bot: 20 rows").add("rows", 20, "count")
    summary = summary.add("agreement", (0.81, 0.72, 0.9), "%", note="95% CI").add("cost", 0.01234, "$")
    summary = summary.add("tokens_mean", 95.2, "tokens").add("tokens_ci95_low", 95.0).add("tokens_ci95_high", 95.4)
    text = repr(summary)
    agreement = next(line for line in text.splitlines() if line.startswith("agreement"))
    assert "81.0 % (72.0–90.0)" in agreement and agreement.endswith("95% CI") and "$0.0123" in text
    assert "95.2 tokens (95.0–95.4)" in text  # not "95.2 tokens (95.0 tokens–95.4 tokens)"
    assert formatted((980.0, 950.0, 1020.0), "ms") == "980 ms (950 ms–1.02 s)"  # different units stay written
    assert summary.to_frame().loc["rows", "value"] == 20


def test_numbers_are_rounded_for_people():
    assert human(7403.149902) == "7,403" and human(0.012345) == "0.0123" and human(None) == "—"
    assert duration_ms(1325.0481100000115) == "1.33 s" and duration_ms(87.4) == "87 ms"
    assert formatted(float("nan"), "ms") == "—" and formatted(1234, "tokens") == "1,234 tokens"


def test_results_are_rounded(results):
    assert all(v == round(v, 1) for v in results["latency_ms"])
    assert str(results["completion_tokens"].dtype) == "int64"  # 96, not 96.0


def test_progress_shows_deployment_counts_rate_and_eta_from_the_start(capsys):
    progress = Progress(5, "text", deployment="support-bot")
    assert re.search(r"support-bot: +0%.*0/5 \[.*, 0 failed\]", capsys.readouterr().err)  # before any row ends
    progress.update(failed=True)
    progress.update(cached=True)
    progress.close(interrupted=True)
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert "2/5" in last and "1 failed, 1 cached, interrupted" in last and "row/s" in last
    assert progress.line().startswith("2/5 done · 1 cached · 1 sent · 1 failed")
