"""Pairwise statistics against an independent computation (scipy, in the tests only)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from orqmagic.evaluation.pairstats import (
    betainc,
    cases_for_rate,
    decided_needed,
    exact_interval,
    paired_bootstrap,
    sentence,
    sign_test,
    summarize_pairs,
    wilson_interval,
)

# 62 of 100 decided cases for B, 25 ties, 9 of the 125 judged pairs flipped with order
FIXED = ["B"] * 62 + ["A"] * 38 + ["tie"] * 25


def test_fixed_data_matches_scipy_binomtest():
    summary = summarize_pairs(FIXED, inconsistent=9)
    reference = stats.binomtest(62, 100, 0.5)
    ci = reference.proportion_ci(confidence_level=0.95, method="exact")
    assert summary["p_value"] == pytest.approx(reference.pvalue, rel=1e-12)
    assert summary["b_win_rate_ci95_low"] == pytest.approx(ci.low, abs=1e-12)
    assert summary["b_win_rate_ci95_high"] == pytest.approx(ci.high, abs=1e-12)
    assert (summary["a_wins"], summary["b_wins"], summary["ties"], summary["decided"]) == (38, 62, 25, 100)
    assert summary["inconsistency_rate"] == pytest.approx(9 / 125)
    assert summary["settled"]
    assert sentence(summary) == ("B beats A on 62% of decided cases (95% CI 52–72%), p = 0.021; "
                                 "7% of pairs flipped with order.")


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 3000), data=st.data())
def test_interval_and_p_value_match_scipy_for_any_split(n, data):
    k = data.draw(st.integers(0, n))
    reference = stats.binomtest(k, n, 0.5)
    ci = reference.proportion_ci(method="exact")
    low, high = exact_interval(k, n)
    assert low == pytest.approx(ci.low, abs=1e-9) and high == pytest.approx(ci.high, abs=1e-9)
    assert sign_test(n - k, k) == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-250)  # scipy underflows first
    wilson = reference.proportion_ci(method="wilson")
    assert wilson_interval(k, n) == pytest.approx((wilson.low, wilson.high), abs=1e-9)
    # settled exactly when the interval leaves 50% out, and then p < 0.05: the sentence cannot contradict itself
    summary = summarize_pairs(["B"] * k + ["A"] * (n - k))
    assert summary["settled"] == (low > 0.5 or high < 0.5)
    if summary["settled"]:
        assert summary["p_value"] < 0.05


@settings(max_examples=100, deadline=None)
@given(a=st.floats(0.05, 500), b=st.floats(0.05, 500), x=st.floats(0, 1))
def test_incomplete_beta_matches_scipy(a, b, x):
    from scipy.special import betainc as scipy_betainc

    assert betainc(a, b, x) == pytest.approx(float(scipy_betainc(a, b, x)), abs=1e-10)


def test_paired_bootstrap_matches_scipy_percentile_interval():
    rng = np.random.default_rng(5)
    differences = np.round(rng.normal(0.08, 0.3, 300), 2)  # judge scores: two decimals, many repeats
    mean, low, high = paired_bootstrap(differences, resamples=4000, seed=1)
    reference = stats.bootstrap((differences,), np.mean, n_resamples=4000, method="percentile", random_state=2)
    assert mean == pytest.approx(differences.mean())
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.006)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.006)
    continuous = rng.normal(0.1, 0.3, 600)  # the path for many distinct values
    mean, low, high = paired_bootstrap(continuous, resamples=4000, seed=1)
    reference = stats.bootstrap((continuous,), np.mean, n_resamples=4000, method="percentile", random_state=2)
    assert low == pytest.approx(reference.confidence_interval.low, abs=0.006)
    assert high == pytest.approx(reference.confidence_interval.high, abs=0.006)
    assert paired_bootstrap(continuous, seed=3) == paired_bootstrap(continuous, seed=3)  # seeded


def test_not_settled_says_how_many_more_cases_would_likely_settle_it():
    winners = ["B"] * 11 + ["A"] * 9 + ["tie"] * 5
    summary = summarize_pairs(winners, inconsistent=5)
    assert not summary["settled"] and summary["p_value"] > 0.05
    # the exact sign test at 5% finds a true 55% rate with 80% power from this many decided cases (scipy checks it)
    decided = decided_needed(0.55)
    critical = next(k for k in range(decided // 2, decided + 1) if stats.binomtest(k, decided).pvalue < 0.05)
    assert stats.binom.sf(critical - 1, decided, 0.55) >= 0.8
    critical = next(k for k in range(decided // 2, decided) if stats.binomtest(k, decided - 1).pvalue < 0.05)
    assert stats.binom.sf(critical - 1, decided - 1, 0.55) < 0.8
    expected = math.ceil(decided / 0.8)  # 20 of the 25 cases were decided: ties decide nothing
    assert summary["cases_needed"] == expected == cases_for_rate(0.55, 0.8)
    text = sentence(summary, "terse", "thorough")
    assert text.startswith("Not settled: thorough wins 55% of decided cases (95% CI 32–77%), p = 0.82")
    more = expected - 25
    assert f"about {math.ceil(more / 10 ** (len(str(more)) - 2)) * 10 ** (len(str(more)) - 2):,} more cases" in text
    assert text.endswith("20% of pairs flipped with order.")


def test_edge_cases_read_truthfully():
    assert sentence(summarize_pairs(["tie"] * 4, inconsistent=4)).startswith("Not settled: no case was decided")
    even = sentence(summarize_pairs(["A", "B"] * 10))
    assert "each win 50%" in even and "unlikely to settle" in even
    assert sentence(summarize_pairs(["A"] * 30)).startswith("A beats B on 100% of decided cases (95% CI 88–100%)")
    nearly = summarize_pairs(["B"] * 999 + ["A"])
    assert ">99%" in sentence(nearly) and "p < 0.001" in sentence(nearly)
    broken = summarize_pairs(["B", None, None])
    assert broken["errors"] == 2 and broken["judged"] == 1


def test_score_difference_is_reported_with_its_interval():
    summary = summarize_pairs(FIXED, inconsistent=9, differences=[0.2, 0.1, 0.3, 0.25, 0.15] * 10)
    assert summary["difference_settled"] and summary["mean_difference"] == pytest.approx(0.2)
    assert "Mean score B − A: +0.20 (95% CI +0.18 to +0.22) over 50 cases." in sentence(summary)
    unsure = summarize_pairs(FIXED, differences=[0.3, -0.2, 0.1, -0.1])
    assert "not settled; about" in sentence(unsure)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.03, 0.97).filter(lambda r: abs(r - 0.5) > 0.04))
def test_cases_needed_has_the_stated_power_by_scipy(rate):
    n = decided_needed(rate)
    critical = next(k for k in range(n // 2, n + 1) if stats.binomtest(k, n).pvalue < 0.05)
    assert stats.binom.sf(critical - 1, n, max(rate, 1 - rate)) >= 0.8 - 1e-9
