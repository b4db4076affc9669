"""Judge scores to orq as feedback, through the outbox, exactly once per judgement.

orq's feedback score is a whole number from 0 to 100, so a score on the
metric's scale ``(low, high)`` is sent as ``round(100 * (score - low) / (high - low))``;
the score itself, the scale, the metric, the judge deployment and
``source: "llm"`` travel in the metadata, so the number in orq can be traced back.

Exactly once: each submission carries a judgement key (the response id, the
metric's name and prompt, the judge and the score, hashed) in its metadata.
Judging again (a resumed run, the same cell run twice) finds the key in the
outbox, where it was written before it was first sent, and sends nothing for
it; a submission still pending there is delivered by the outbox's own retries.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..errors import APIError
from .metric import Metric
from .prompts import is_blank

if TYPE_CHECKING:
    import pandas as pd

JUDGEMENT_KEY = "orqmagic_judgement"


def orq_score(score: float, scale: tuple[float, float]) -> int:
    """A score on ``scale`` as orq's whole-number 0..100 feedback score."""
    low, high = scale
    return max(0, min(100, round(100 * (score - low) / (high - low))))


def judgement_key(response_id: str, metric: Metric, judge: str, score: float) -> str:
    canonical = json.dumps([response_id, metric.name, metric.judge_prompt, list(metric.evaluation_params),
                            list(metric.scale), judge, round(score, 6)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _known_keys(box: Any) -> set[str]:
    keys = set()
    for record in box.records():
        metadata = (record.get("body") or {}).get("metadata") or {}
        if record.get("status") != "rejected" and isinstance(metadata.get(JUDGEMENT_KEY), str):
            keys.add(metadata[JUDGEMENT_KEY])
    return keys


def send_judged(frame: pd.DataFrame, metric: Metric, judge: str, *, outbox: Any = None) -> dict[str, int]:
    """Send every scored row's score for its response id; returns counts: sent, queued, already sent, rejected, skipped."""
    from ..store.outbox import default_outbox

    box = outbox or default_outbox()
    known = _known_keys(box)
    counts = {"sent": 0, "queued": 0, "already_sent": 0, "rejected": 0, "skipped": 0}
    for response_id, score, reason in zip(frame["id"], frame["score"], frame["reason"], strict=True):
        if is_blank(response_id) or is_blank(score):
            counts["skipped"] += 1
            continue
        key = judgement_key(str(response_id), metric, judge, float(score))
        if key in known:
            counts["already_sent"] += 1
            continue
        metadata = {"metric": metric.name, "metric_score": float(score), "scale": list(metric.scale),
                    "judge": judge, "source": "llm", JUDGEMENT_KEY: key}
        if metric.id:
            metadata["metric_id"] = metric.id
        if isinstance(reason, str) and reason:
            metadata["reason"] = reason[:500]
        known.add(key)
        try:
            receipt = box.submit(str(response_id), score=orq_score(float(score), metric.scale), metadata=metadata)
        except APIError:  # refused for good (an unknown response id, ...): marked rejected in the outbox
            counts["rejected"] += 1
            continue
        counts[receipt.status] += 1
    return counts


__all__ = ["JUDGEMENT_KEY", "judgement_key", "orq_score", "send_judged"]
