"""Statistics of a batch run, as pure functions: means with confidence intervals, trial agreement, totals, cost.

Kept apart from how a summary is shown, so the numbers can be tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# Two-sided 95% Student t critical values for 1..30 degrees of freedom (beyond 30, a series around 1.96).
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
_Z = 1.959964


def t95(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two values")
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z  # Cornish-Fisher expansion: within 1e-3 of the exact value for df > 30
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values: Iterable[float]) -> tuple[float, float, float]:
    """Mean and 95% confidence interval (Student t); the interval is NaN with fewer than two values."""
    data = [float(v) for v in values if not _missing(v) and not math.isnan(float(v))]
    if not data:
        return math.nan, math.nan, math.nan
    mean = sum(data) / len(data)
    if len(data) < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in data) / (len(data) - 1))
    half = t95(len(data) - 1) * sd / math.sqrt(len(data))
    return mean, mean - half, mean + half


def agreement(groups: Iterable[Sequence[Any]]) -> float:
    """Exact-match rate: of all pairs of trials of the same row, the share whose answers are identical.

    Rows with fewer than two answers add no pairs; NaN if no row has two.
    """
    same = pairs = 0
    for answers in groups:
        counts: dict[Any, int] = {}
        for answer in answers:
            counts[answer] = counts.get(answer, 0) + 1
        n = sum(counts.values())
        pairs += n * (n - 1) // 2
        same += sum(c * (c - 1) // 2 for c in counts.values())
    return same / pairs if pairs else math.nan


def totals(results: pd.DataFrame) -> dict[str, int]:
    """Prompt and completion tokens over every row that reported usage."""
    out = {}
    for column in ("prompt_tokens", "completion_tokens"):
        values = results[column].dropna() if column in results else []
        out[column] = int(sum(values))
    return out


def _price(prices: Mapping[str, tuple[float, float]], model: Any) -> tuple[float, float] | None:
    if not isinstance(model, str):
        return None
    if model in prices:
        return prices[model]
    for name, price in prices.items():  # "openai/gpt-4o-mini" matches a row whose model is "gpt-4o-mini"
        if name.rsplit("/", 1)[-1] == model.rsplit("/", 1)[-1]:
            return price
    return None


def cost(results: pd.DataFrame, prices: Mapping[str, tuple[float, float]]) -> tuple[float, int]:
    """Estimated cost from a price table ``{"provider/model": (input_per_1m, output_per_1m)}``.

    Returns the estimate and how many rows with usage had no price (their cost is left out).
    """
    total, unpriced = 0.0, 0
    for model, prompt, completion in zip(results.get("model", []), results.get("prompt_tokens", []),
                                         results.get("completion_tokens", []), strict=False):
        if _missing(prompt) and _missing(completion):
            continue
        price = _price(prices, model)
        if price is None:
            unpriced += 1
            continue
        total += (0 if _missing(prompt) else prompt) * price[0] / 1e6
        total += (0 if _missing(completion) else completion) * price[1] / 1e6
    return total, unpriced


def _missing(value: Any) -> bool:
    """None, NaN, or ``pandas.NA`` (what a nullable ``Int64`` token or score column holds for a blank)."""
    return value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and math.isnan(value))


METRICS = ("latency_ms", "ttft_ms", "completion_tokens", "score")


def evaluation(results: pd.DataFrame, prices: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """What summarize adds: per metric the mean and 95% CI, trial agreement, and the estimated cost.

    With trials, each row's trials are averaged first and the interval is taken
    over rows, because trials of one row are not independent samples.
    """
    import pandas as pd

    ok = results[results["error"].isna()] if "error" in results else results
    out: dict[str, Any] = {}
    for metric in METRICS:
        if metric not in ok or not len(ok):
            continue
        values = pd.to_numeric(ok[metric], errors="coerce")  # a score column may hold blanks
        per_row = values.groupby(ok["case"]).mean() if {"case", "trial"} <= set(ok.columns) else values
        mean, low, high = mean_ci(per_row)
        out.update({f"{metric}_mean": mean, f"{metric}_ci95_low": low, f"{metric}_ci95_high": high})
    if "trial" in results and len(results):  # a run stopped before its first row has no trials to count
        out["trials"] = int(results["trial"].max())
        out["agreement"] = agreement(ok["text"].groupby(ok.get("case", ok.index)).apply(list))
    if prices:
        estimate, unpriced = cost(results, prices)
        out["estimated_cost"] = estimate
        if unpriced:
            out["estimated_cost_rows_unpriced"] = unpriced
    return out


def match_rate(first: Sequence[Any], second: Sequence[Any]) -> float:
    """Share of pairs whose two ratings are equal; NaN with no pairs."""
    if len(first) != len(second):
        raise ValueError("the two ratings need the same length")
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first) if len(first) else math.nan


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float:
    """Cohen's kappa of two raters over the same cases: agreement beyond what their label frequencies give by chance.

    ``(p_o - p_e) / (1 - p_e)``; NaN when it is undefined (no pairs, or both raters used one and the same label,
    so chance agreement is already 1).
    """
    n = len(first)
    if n != len(second):
        raise ValueError("the two ratings need the same length")
    if not n:
        return math.nan
    observed = match_rate(first, second)
    counts_a: dict[Any, int] = {}
    counts_b: dict[Any, int] = {}
    for a, b in zip(first, second, strict=True):
        counts_a[a] = counts_a.get(a, 0) + 1
        counts_b[b] = counts_b.get(b, 0) + 1
    expected = sum(counts_a[k] * counts_b.get(k, 0) for k in counts_a) / (n * n)
    return math.nan if expected >= 1 else (observed - expected) / (1 - expected)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties given the mean of the ranks they span (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(first: Sequence[float], second: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson's r of the tie-averaged ranks); NaN with fewer than two pairs or
    when either side never varies (a correlation is then undefined)."""
    n = len(first)
    if n != len(second):
        raise ValueError("the two ratings need the same length")
    if n < 2:
        return math.nan
    ra, rb = ranks([float(v) for v in first]), ranks([float(v) for v in second])
    mean = (n + 1) / 2  # the mean of 1..n, ties included
    cov = sum((a - mean) * (b - mean) for a, b in zip(ra, rb, strict=True))
    var_a = sum((a - mean) ** 2 for a in ra)
    var_b = sum((b - mean) ** 2 for b in rb)
    if var_a == 0 or var_b == 0:
        return math.nan
    return max(-1.0, min(1.0, cov / math.sqrt(var_a * var_b)))


__all__ = ["agreement", "cohen_kappa", "cost", "evaluation", "match_rate", "mean_ci", "ranks", "spearman", "t95",
           "totals"]
