"""Judge scores to orq as feedback, through the outbox, exactly once per judgement.

orq's feedback score is a whole number from 0 to 100, so a score on the
metric's scale ``(low, high)`` is sent as ``round(100 * (score - low) / (high - low))``;
the score itself, the scale, the metric, the judge deployment and
``source: "llm"`` travel in the metadata, so the number in orq can be traced back.

Exactly once: each submission's outbox id is a key of the judgement (the
response id, the metric's name and prompt, the judge and the score, hashed). The
outbox records a submission before sending it, under that id, and refuses a
second one with the same id (its primary key, so two processes cannot both pass),
so judging again (a resumed run, the same cell run twice, another notebook) sends
nothing for a judgement already there; one still pending is delivered by the
outbox's own retries.
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


def orq_score(score: float, scale: tuple[float, float]) -> int:
    """A score on ``scale`` as orq's whole-number 0..100 feedback score."""
    low, high = scale
    return max(0, min(100, round(100 * (score - low) / (high - low))))


def judgement_key(response_id: str, metric: Metric, judge: str, score: float) -> str:
    canonical = json.dumps([response_id, metric.name, metric.judge_prompt, list(metric.evaluation_params),
                            list(metric.scale), judge, round(score, 6)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def send_judged(frame: pd.DataFrame, metric: Metric, judge: str, *, outbox: Any = None) -> dict[str, int]:
    """Send every scored row's score for its response id; returns counts: sent, queued, already sent, rejected, skipped."""
    from ..store.outbox import default_outbox

    box = outbox or default_outbox()
    counts = {"sent": 0, "queued": 0, "already_sent": 0, "rejected": 0, "skipped": 0}
    for response_id, score, reason in zip(frame["id"], frame["score"], frame["reason"], strict=True):
        if is_blank(response_id) or is_blank(score):
            counts["skipped"] += 1
            continue
        key = judgement_key(str(response_id), metric, judge, float(score))
        metadata = {"metric": metric.name, "metric_score": float(score), "scale": list(metric.scale),
                    "judge": judge, "source": "llm"}
        if metric.id:
            metadata["metric_id"] = metric.id
        if isinstance(reason, str) and reason:
            metadata["reason"] = reason[:500]
        try:
            receipt = box.submit(str(response_id), submission_id=f"judgement-{key}",
                                 score=orq_score(float(score), metric.scale), metadata=metadata)
        except APIError:  # refused for good (an unknown response id, ...): marked rejected in the outbox
            counts["rejected"] += 1
            continue
        counts["already_sent" if receipt.status == "duplicate" else receipt.status] += 1
    return counts


__all__ = ["judgement_key", "orq_score", "send_judged"]
