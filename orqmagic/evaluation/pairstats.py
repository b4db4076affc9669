"""Statistics of A against B, as pure functions: exact interval and sign test, paired bootstrap, cases needed.

Kept apart from judging and from display so the numbers can be checked on their
own (the tests compare them with scipy; scipy is never needed at run time).

Why these: a pairwise verdict per case is a coin that lands "A" or "B" (ties
say nothing about which is better and are left out), so B's win rate over the
decided cases gets an exact (Clopper-Pearson) 95% interval, and "is there a
difference" is the exact two-sided sign test against 50%. For p0 = 0.5 the two
agree by construction: the interval leaves 50% out exactly when p < 0.05, so
the sentence never says "settled" with an interval that says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Z95 = 1.959963984540054  # two-sided 95%
Z80 = 0.8416212335729143  # 80% power (one-sided)
#: The fewest values a percentile bootstrap interval is given for. Below this its "95%" interval covers far less
#: (by simulation with normal data: about 52% from 2 values, 71% from 3, 85% from 5, 92% from 10), so a
#: difference of 3 cases would read as settled about a third of the time when there is none.
MIN_BOOTSTRAP = 10


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz), converging for x < (a+1)/(a+b+2)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (the binomial and beta CDFs are made of it)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _beta_ppf(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(a, b), by bisection on :func:`betainc` (monotone, so it cannot miss)."""
    low, high = 0.0, 1.0
    for _ in range(60):  # 2**-60: far below any digit we show
        mid = (low + high) / 2
        if betainc(a, b, mid) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def exact_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion: ``successes`` of ``n``; (nan, nan) when n is 0."""
    if n <= 0:
        return math.nan, math.nan
    alpha = 1 - level
    low = 0.0 if successes == 0 else _beta_ppf(alpha / 2, successes, n - successes + 1)
    high = 1.0 if successes == n else _beta_ppf(1 - alpha / 2, successes + 1, n - successes)
    return low, high


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (for comparison; the sentence uses the exact one)."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def sign_test(wins_a: int, wins_b: int) -> float:
    """Exact two-sided sign test p-value: how surprising this split of decided cases is if A and B were equal.

    ``2 * P(X <= min(wins))`` for X ~ Binomial(n, 1/2), capped at 1 (what
    ``scipy.stats.binomtest(k, n).pvalue`` gives for p = 0.5), in exact integers.
    """
    n = wins_a + wins_b
    if n == 0:
        return 1.0
    k = min(wins_a, wins_b)
    if 2 * k == n:
        return 1.0
    term, total = 1, 1
    for i in range(k):  # C(n, i+1) from C(n, i), exactly
        term = term * (n - i) // (i + 1)
        total += term
    return min(1.0, 2 * total / 2**n)


def paired_bootstrap(differences: Sequence[float], *, resamples: int | None = None, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences with a percentile bootstrap interval (cases resampled, seeded, numpy).

    2,000 resamples, 1,000 beyond 2,000 cases (the interval is then narrow, and
    its ends move by about 2% of its width between seeds either way). No interval
    (nan, nan) from fewer than :data:`MIN_BOOTSTRAP` values; missing and infinite
    values are left out.
    """
    import numpy as np

    data = np.asarray([d for d in differences if d is not None and math.isfinite(d)], dtype=float)
    if resamples is None:
        resamples = 2000 if data.size <= 2000 else 1000
    if data.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if data.size < MIN_BOOTSTRAP:  # an interval from so few values would claim more than they support
        return mean, math.nan, math.nan
    rng = np.random.default_rng(seed)
    # 0.3 - 0.1 and 0.2 are different floats: group differences of two-decimal scores as the numbers they are
    values, counts = np.unique(np.round(data, 9), return_counts=True)
    if values.size <= 64 or values.size * 20 <= data.size:
        # Judge scores take few values (two decimals): resampling cases is then exactly drawing how many
        # of each value, a multinomial over the distinct values, which costs resamples x values, not x cases.
        # The multinomial is drawn as one binomial per value across all resamples at once (the conditional
        # method: the same distribution, a vectorised call per value instead of a loop per resample).
        remaining = np.full(resamples, data.size, dtype=np.int64)
        left, total = float(data.size), np.zeros(resamples)
        for value, count in zip(values[:-1], counts[:-1], strict=True):
            drawn = rng.binomial(remaining, min(1.0, count / left))
            total += drawn * value
            remaining -= drawn
            left -= count
        means = (total + remaining * values[-1]) / data.size
    else:
        means = np.empty(resamples)
        chunk = max(1, 4_000_000 // data.size)  # bounded memory at any size
        for start in range(0, resamples, chunk):
            stop = min(resamples, start + chunk)
            index = rng.integers(0, data.size, size=(stop - start, data.size), dtype=np.int32)
            means[start:stop] = data[index].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return mean, float(low), float(high)


def _critical(n: int) -> int:
    """The fewest wins of ``n`` decided cases that the exact two-sided sign test calls significant (p < 0.05)."""
    low, high = n // 2 + 1, n + 1  # P(X >= k | 1/2) falls as k grows: bisect for the first k at or below 2.5%
    while low < high:
        mid = (low + high) // 2
        if betainc(mid, n - mid + 1, 0.5) <= 0.025:
            high = mid
        else:
            low = mid + 1
    return low


def sign_test_power(n: int, rate: float) -> float:
    """The chance that ``n`` decided cases with true win rate ``rate`` come out significant in the sign test."""
    rate = max(rate, 1 - rate)
    k = _critical(n)
    return 0.0 if k > n else betainc(k, n - k + 1, rate)


def decided_needed(rate: float, power: float = 0.8, limit: int = 10_000_000) -> int | None:
    """The fewest decided cases at which the exact sign test would find a true ``rate`` with ``power`` (80%).

    Exact binomial power, searched by doubling then bisection; ``None`` at 50% (no
    difference to find) or beyond ``limit``.
    """
    if math.isnan(rate) or abs(rate - 0.5) < 1e-12:
        return None
    high = 1
    while sign_test_power(high, rate) < power:
        high *= 2
        if high > limit:
            return None
    low = high // 2
    while low + 1 < high:
        mid = (low + high) // 2
        if sign_test_power(mid, rate) >= power:
            high = mid
        else:
            low = mid
    return high


def cases_for_rate(rate: float, decided_share: float) -> int | None:
    """Cases (ties included) at which a true win rate ``rate`` would likely show as settled.

    :func:`decided_needed` decided cases (exact sign test at 5% two-sided, 80%
    power), divided by the share of cases decided so far, since ties decide
    nothing. ``None`` when the rate is 50% or nothing was decided.
    """
    if decided_share <= 0:
        return None
    decided = decided_needed(rate)
    return None if decided is None else math.ceil(decided / decided_share)


def cases_for_mean(mean: float, sd: float) -> int | None:
    """Cases at which a mean paired difference ``mean`` (spread ``sd``) would likely have an interval without 0.

    ``n = ((z.975 + z.80) * sd / mean)**2``: the same 5% / 80% rule for a mean.
    """
    if math.isnan(mean) or math.isnan(sd) or mean == 0:
        return None
    return max(MIN_BOOTSTRAP, math.ceil(((Z95 + Z80) * sd / mean) ** 2))


def p_text(p: float) -> str:
    """A p-value as people read it: two significant digits, ``p < 0.001`` below that."""
    if math.isnan(p):
        return "p = —"
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.1:
        return f"p = {p:.2f}"
    text = f"{p:.2g}" if p >= 0.01 else f"{p:.1g}"
    digits = 3
    while (float(text) < 0.05) != (p < 0.05) and digits < 12:  # 0.0498 is not shown as 0.05 next to "settled"
        text, digits = f"{p:.{digits}g}", digits + 1
    return f"p = {text}"


def pct(ratio: float) -> str:
    """A share as a whole percentage (``62%``); ``<1%`` / ``>99%`` rather than a rounded 0 or 100 that is not."""
    if math.isnan(ratio):
        return "—"
    value = ratio * 100
    if 0 < value < 0.5:
        return "<1%"
    if 99.5 <= value < 100:
        return ">99%"
    return f"{value:.0f}%"


def pct_range(low: float, high: float) -> str:
    """An interval of shares: ``51–72%``; a bound near 50% that is not 50% keeps the digits that say which side
    it is on (``50.2–74%``), so a settled result never shows an interval that seems to reach 50%."""
    return f"{_bound(low).rstrip('%')}–{_bound(high)}"


def _bound(ratio: float) -> str:
    text = pct(ratio)
    if text != "50%" or math.isnan(ratio) or ratio == 0.5:
        return text
    for digits in range(1, 12):
        shown = f"{ratio * 100:.{digits}f}"
        if float(shown) != 50:
            return shown + "%"
    return text


def summarize_pairs(winners: Sequence[Any], *, inconsistent: int | None = 0, judged: int | None = None,
                    differences: Sequence[float] | None = None, seed: int = 0) -> dict[str, Any]:
    """The statistics of a pairwise run from its per-case winners (``"A"``, ``"B"``, ``"tie"``, or ``None``).

    ``None`` is a case that could not be judged (left out of everything).
    ``inconsistent`` counts the ties that came from orders that disagreed (``None``:
    not judged in two orders, e.g. winners read from scores, so no rate);
    ``judged`` the cases judged in both orders (default: every non-None winner).
    ``differences`` are paired score differences (B minus A) for the bootstrap.
    """
    wins_a = wins_b = ties = errors = 0
    for w in winners:
        if w == "A":
            wins_a += 1
        elif w == "B":
            wins_b += 1
        elif w == "tie":
            ties += 1
        else:
            errors += 1
    judged = wins_a + wins_b + ties if judged is None else judged
    decided = wins_a + wins_b
    rate = wins_b / decided if decided else math.nan
    low, high = exact_interval(wins_b, decided)
    p = sign_test(wins_a, wins_b)
    out: dict[str, Any] = {
        "cases": len(winners), "judged": judged, "errors": errors, "a_wins": wins_a, "b_wins": wins_b, "ties": ties,
        "decided": decided, "b_win_rate": rate, "b_win_rate_ci95_low": low, "b_win_rate_ci95_high": high,
        "p_value": p, "inconsistent": inconsistent or 0,
        "inconsistency_rate": inconsistent / judged if judged and inconsistent is not None else math.nan,
        "settled": bool(decided) and (low > 0.5 or high < 0.5),
        "cases_needed": cases_for_rate(rate, decided / judged if judged else 0.0),
    }
    if differences is not None:
        import numpy as np

        values = np.asarray([d for d in differences if d is not None and math.isfinite(d)], dtype=float)
        mean, dlow, dhigh = paired_bootstrap(values, seed=seed)
        sd = float(values.std(ddof=1)) if values.size > 1 else math.nan
        out.update({"score_pairs": int(values.size), "mean_difference": mean, "mean_difference_ci95_low": dlow,
                    "mean_difference_ci95_high": dhigh,
                    "difference_settled": not math.isnan(dlow) and (dlow > 0 or dhigh < 0),
                    "cases_needed_difference": cases_for_mean(mean, sd)})
    return out


def sentence(stats: dict[str, Any], a: str = "A", b: str = "B") -> str:
    """The plain sentence of a pairwise result: who wins how often, how sure, and how order-dependent the judge was.

    "B beats A on 62% of decided cases (95% CI 51–72%), p = 0.03; 9% of pairs
    flipped with order." A result whose interval includes 50% says "not settled"
    and, at the observed rate, how many more cases would likely settle it.
    """
    decided, cases = stats["decided"], stats["judged"]
    flipped = stats["inconsistency_rate"]
    tail = "" if math.isnan(flipped) else f"; {pct(flipped)} of pairs flipped with order"
    if not cases:  # every case failed to be judged: there are no ties to speak of either
        errors = stats.get("errors", 0)
        return f"Not settled: no case could be judged ({errors} of {stats['cases']} not judged: see judge_error)."
    if not decided:
        return f"Not settled: no case was decided ({cases} judged, all ties){tail}."
    rate, low, high = stats["b_win_rate"], stats["b_win_rate_ci95_low"], stats["b_win_rate_ci95_high"]
    leader, other, share, interval = (b, a, rate, (low, high)) if rate >= 0.5 else (a, b, 1 - rate, (1 - high, 1 - low))
    numbers = f"{pct(share)} of decided cases (95% CI {pct_range(*interval)}), {p_text(stats['p_value'])}"
    if stats["settled"]:
        text = f"{leader} beats {other} on {numbers}{tail}."
    elif abs(rate - 0.5) < 1e-12:
        text = f"Not settled: {a} and {b} each win 50% of decided cases, {p_text(stats['p_value'])}; no difference " \
               f"was seen, so more cases are unlikely to settle it{tail}."
    else:
        text = f"Not settled: {leader} wins {numbers}{_more(stats.get('cases_needed'), cases)}{tail}."
    if "mean_difference" in stats and not math.isnan(stats["mean_difference"]):
        text += " " + difference_sentence(stats, a, b)
    return text


def difference_sentence(stats: dict[str, Any], a: str = "A", b: str = "B") -> str:
    """The score part: B's mean score minus A's, with its bootstrap interval."""
    mean, low, high = stats["mean_difference"], stats["mean_difference_ci95_low"], stats["mean_difference_ci95_high"]
    diff = f"{mean:+.2f} (95% CI {low:+.2f} to {high:+.2f})" if not math.isnan(low) else f"{mean:+.2f}"
    head = f"Mean score {b} − {a}: {diff} over {stats['score_pairs']} cases"
    if stats["difference_settled"]:
        return head + "."
    return head + ": not settled" + _more(stats.get("cases_needed_difference"), stats["score_pairs"]) + "."


def _more(needed: int | None, have: int) -> str:
    if needed is None:
        return ""
    more = needed - have
    if more <= 0:
        return "; it is close, a few more cases would likely settle it"
    return f"; about {_round_up(more):,} more case{'' if more == 1 else 's'} would likely settle it at this rate"


def _round_up(n: int) -> int:
    """A count rounded up to two significant digits (an estimate should not look exact)."""
    if n < 100:
        return n
    step = 10 ** (len(str(n)) - 2)
    return -(-n // step) * step


__all__ = ["betainc", "cases_for_mean", "cases_for_rate", "decided_needed", "exact_interval", "paired_bootstrap",
           "sentence", "sign_test", "sign_test_power", "summarize_pairs", "wilson_interval"]
