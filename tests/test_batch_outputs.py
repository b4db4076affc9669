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
    assert str(results["completion_tokens"].dtype) == "Int64"  # 96, not 96.0, also beside a failed row


def test_progress_shows_deployment_counts_rate_and_eta_from_the_start(capsys):
    progress = Progress(5, "text", deployment="support-bot")
    assert re.search(r"support-bot: +0%.*0/5 \[.*, 0 failed\]", capsys.readouterr().err)  # before any row ends
    progress.update(failed=True)
    progress.update(cached=True)
    progress.close(interrupted=True)
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert "2/5" in last and "1 failed, 1 cached, interrupted" in last and "row/s" in last
    assert progress.line().startswith("2/5 done · 1 cached · 1 sent · 1 failed")


# -- Summary is a Series: pandas operations keep working, whatever it holds -------------------------

import math  # noqa: E402
import pickle  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

STAT_VALUE = st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                       st.just(pd.NA), st.integers(0, 100).map(np.int64))
STATS = st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), STAT_VALUE, max_size=8)
UNITS = st.sampled_from(["ms", "%", "$", "tokens", "count", None])


@settings(max_examples=200, deadline=None)
@given(STATS, st.data())
def test_a_summary_of_anything_renders_and_stays_a_pandas_series(stats, data):
    """``s.add(1)`` / ``s.add(other, fill_value=0)`` raised TypeError (Summary.add hid Series.add); a pd.NA
    value crashed the repr. Any statistics render as text and HTML, and pandas operations return pandas types."""
    units = {name: data.draw(UNITS) for name in stats}
    summary = Summary(title="t").add_statistics(stats, units=units)
    for text in (repr(summary), summary._repr_html_()):
        assert isinstance(text, str)
    assert list(summary.index) == list(stats)
    numeric = pd.to_numeric(summary, errors="coerce")
    assert isinstance(numeric.add(1), Summary) and isinstance(numeric + 1, Summary)
    assert isinstance(numeric.add(numeric, fill_value=0), Summary)
    assert numeric.add(numeric, fill_value=0).index.equals(numeric.index)
    assert isinstance(summary.to_frame(), pd.DataFrame) and list(summary.to_dict()) == list(stats)
    assert isinstance(pd.concat([summary, summary], axis=1), pd.DataFrame)
    for copy in (summary.copy(), pickle.loads(pickle.dumps(summary))):
        assert isinstance(copy, Summary) and copy.attrs == summary.attrs and repr(copy) == repr(summary)
    if len(summary):
        first = summary.index[0]
        assert isinstance(summary.loc[[first]], Summary)
        shown, raw = summary.loc[first], stats[first]
        assert (shown is pd.NA or shown is None or math.isnan(float(shown))) if raw is None or raw is pd.NA or (
            isinstance(raw, float) and math.isnan(raw)) else float(shown) == float(raw)
    assert Summary(title="t").add("rows", 3, "count")["rows"] == 3  # a statistic is still added by name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(1, 600_000, allow_nan=False).map(lambda v: round(v, 1)), min_size=3, max_size=3)
       .map(sorted), st.sampled_from(["ms", "tokens", None]))
def test_percentiles_that_differ_never_read_the_same(values, unit):
    """p50/p90/p99 of 1455.5, 1462 and 1463 ms all read "1.46 s": a table that claimed no spread."""
    names = ["latency_p50_ms", "latency_p90_ms", "latency_p99_ms"]
    summary = Summary(title="t").add_statistics(dict(zip(names, values, strict=True)), units=dict.fromkeys(names, unit))
    shown = {name: value for name, value, _ in summary.cells()}
    for a, va in zip(names, values, strict=True):
        for b, vb in zip(names, values, strict=True):
            assert (shown[a] == shown[b]) == (va == vb), shown
