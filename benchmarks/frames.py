"""3. Metrics frames: building the tidy DataFrame of a 7-day SERIES of 10 metrics against JSON-decoding it."""

from __future__ import annotations

import json
import statistics
import time

import httpx

from orqmagic.frames import build_frame

from ._common import Figure, sandbox_process

METRICS = [
    "baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds", "baseten_time_to_first_byte_seconds",
    "baseten_request_size_bytes", "baseten_response_size_bytes", "baseten_concurrent_requests", "baseten_replicas_active",
    "baseten_gpu_memory_used", "baseten_gpu_utilization", "baseten_llm_tokens_per_second_per_request",
]


def pipeline(payload: str, repeat: int) -> dict[str, float]:
    """Median decode and build times, each build working on the object just decoded, as fetch_metrics does."""
    decode, build = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        decoded = json.loads(payload)
        decoded_at = time.perf_counter()
        build_frame(decoded)
        built_at = time.perf_counter()
        decode.append(decoded_at - started)
        build.append(built_at - decoded_at)
    return {"decode": statistics.median(decode), "build": statistics.median(build)}


def run(quick: bool) -> list[Figure]:
    end = int(time.time() * 1000)
    with sandbox_process() as (url, key):
        params = [("mode", "SERIES"), ("start_epoch_millis", end - 7 * 86_400_000), ("end_epoch_millis", end)]
        params += [("metrics", m) for m in METRICS]
        payload = httpx.get(f"{url}/v1/models/llama-chat/deployments/prod-v3/metrics", params=params,
                            headers={"Authorization": f"Bearer {key}"}).text
    decoded = json.loads(payload)
    values = sum(len(v) for vs in decoded["metric_values"] for v in vs["values"])
    times = pipeline(payload, 30 if quick else 300)
    # The same 7 days at a 5-minute step (the sandbox's own step for 7 days is 1 hour): how the cost scales.
    fine = dict(decoded, step_seconds=300, metric_values=[
        {"start_epoch_millis": decoded["metric_values"][0]["start_epoch_millis"] + i * 300_000,
         "values": decoded["metric_values"][i % len(decoded["metric_values"])]["values"]} for i in range(2016)])
    fine_payload = json.dumps(fine, separators=(",", ":"))
    fine_times = pipeline(fine_payload, 10 if quick else 60)
    return [
        Figure(f"frames: JSON decode ({len(payload) / 1024:.0f} KiB, {values} values)", times["decode"] * 1000, "ms"),
        Figure("frames: build tidy DataFrame", times["build"] * 1000, "ms"),
        Figure("frames: build / decode (7 days, 1 h steps, from the sandbox)", times["build"] / times["decode"], "ratio", target=1.0),
        Figure(f"frames: build / decode (7 days, 5 min steps, synthetic {len(fine_payload) / 1024:.0f} KiB)",
               fine_times["build"] / fine_times["decode"], "ratio"),
    ]
