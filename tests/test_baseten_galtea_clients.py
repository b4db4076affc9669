"""Baseten and Galtea clients against the sandbox over HTTP."""

import datetime as dt
import time
import uuid

import pytest

from orqmagic import AuthenticationError, BadRequestError, NotFoundError, ValidationError
from orqmagic.clients import BasetenClient, GalteaClient
from orqmagic.clients._transport import Call

HOUR = 3_600_000


def now_ms() -> int:
    return int(time.time() * 1000)


def test_models_and_deployments(baseten):
    models = baseten.list_models()
    assert [m["id"] for m in models] == ["llama-chat", "embedder"]
    deployments = baseten.list_deployments("llama-chat")
    assert {d["status"] for d in deployments} == {"ACTIVE", "SCALED_TO_ZERO"}
    with pytest.raises(NotFoundError):
        baseten.list_deployments("missing")


def test_metrics_query_repeats_metrics_and_sends_only_set_parameters(baseten, sandbox):
    seen = []
    baseten._http.event_hooks["request"].append(lambda r: seen.append(str(r.url)))
    end = now_ms()
    response = baseten.deployment_metrics("llama-chat", "prod-v3", ["baseten_gpu_utilization", "baseten_replicas_active"],
                                          mode="SERIES", start=end - HOUR, end=end)
    assert "metrics=baseten_gpu_utilization&metrics=baseten_replicas_active" in seen[-1]
    assert [d["name"] for d in response["metric_descriptors"]] == ["baseten_gpu_utilization", "baseten_replicas_active"]
    baseten.deployment_metrics("llama-chat", "prod-v3")
    assert seen[-1].endswith("/metrics")


def test_series_summary_and_current_modes(baseten):
    end = now_ms()
    series = baseten.deployment_metrics("llama-chat", "prod-v3", mode="SERIES", start=end - 24 * HOUR, end=end)
    assert series["step_seconds"] == 900 and len(series["metric_values"]) in (96, 97)
    summary = baseten.deployment_metrics("llama-chat", "prod-v3", mode="SUMMARY", start=end - HOUR, end=end)
    assert summary["step_seconds"] is None and len(summary["metric_values"]) == 1
    current = baseten.deployment_metrics("llama-chat", "prod-v3", mode="CURRENT")
    assert len(current["metric_values"]) == 1
    default = baseten.deployment_metrics("llama-chat", "prod-v3")
    assert default["mode"] == "CURRENT"
    assert [d["name"] for d in default["metric_descriptors"]] == [
        "baseten_replicas_active", "baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds"]


def test_datetimes_are_accepted(baseten):
    end = dt.datetime.now(dt.timezone.utc)
    response = baseten.deployment_metrics("llama-chat", "prod-v3", mode="SERIES", start=end - dt.timedelta(hours=1), end=end)
    assert response["end_epoch_millis"] == int(end.timestamp() * 1000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "CURRENT", "start": 1}, "CURRENT mode is a snapshot"),
        ({"mode": "SERIES", "start": 10, "end": 5}, "end must be after start"),
        ({"mode": "SERIES", "start": 0, "end": 8 * 24 * HOUR}, "must not exceed 7 days"),
        ({"mode": "HOURLY"}, "mode must be one of"),
        ({"mode": "SERIES", "start": "yesterday"}, "start must be a datetime"),
    ],
)
def test_seed_rules_are_checked_before_sending(baseten, sandbox, kwargs, message):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError, match=message):
        baseten.deployment_metrics("llama-chat", "prod-v3", **kwargs)
    assert sandbox.requests()[mark:] == []


def test_unknown_metric_is_rejected_by_the_server(baseten):
    with pytest.raises(BadRequestError, match="Unknown metric names: baseten_nope"):
        baseten.deployment_metrics("llama-chat", "prod-v3", ["baseten_nope"])


def test_server_enforces_the_same_rules(baseten):
    path = "/v1/models/llama-chat/deployments/prod-v3/metrics"
    with pytest.raises(BadRequestError, match="omitted in CURRENT"):
        baseten._call(Call("GET", path, params=[("start_epoch_millis", 1)]))
    with pytest.raises(BadRequestError, match="7 days"):
        baseten._call(Call("GET", path, params=[("mode", "SERIES"), ("start_epoch_millis", 0), ("end_epoch_millis", 8 * 24 * HOUR)]))


def test_inapplicable_metrics_are_omitted(baseten):
    response = baseten.deployment_metrics("embedder", "emb-v1", ["baseten_gpu_utilization", "baseten_replicas_active"])
    assert [d["name"] for d in response["metric_descriptors"]] == ["baseten_replicas_active"]


def test_overlapping_windows_agree(baseten):
    end = now_ms() - now_ms() % HOUR
    a = baseten.deployment_metrics("llama-chat", "prod-v3", mode="SERIES", start=end - 2 * HOUR, end=end)
    b = baseten.deployment_metrics("llama-chat", "prod-v3", mode="SERIES", start=end - HOUR, end=end + HOUR)
    by_time = {v["start_epoch_millis"]: v["values"] for v in a["metric_values"]}
    shared = [v for v in b["metric_values"] if v["start_epoch_millis"] in by_time]
    assert shared and all(by_time[v["start_epoch_millis"]] == v["values"] for v in shared)


def test_api_key_scheme_is_also_accepted(sandbox):
    import httpx

    response = httpx.get(f"{sandbox.url}/v1/models", headers={"Authorization": f"Api-Key {sandbox.key}"})
    assert response.status_code == 200


def test_baseten_wrong_key(sandbox):
    with pytest.raises(AuthenticationError):
        BasetenClient(base_url=sandbox.url, api_key="bad").list_models()


# -- Galtea ------------------------------------------------------------------------------


def test_create_get_and_list_metrics(galtea):
    created = galtea.create_metric("Faithfulness", source="PARTIAL_PROMPT", judge_prompt="Is it faithful?",
                                   evaluation_params=["input", "actualOutput", "retrievalContext"], tags=["rag"],
                                   documentation_url="https://docs.example.com/f", eval_params_top=True)
    assert created["id"].startswith("metric_") and created["metricGroupId"] == created["id"]
    assert created["evaluationParams"] == ["input", "actualOutput", "retrievalContext"]
    assert created["areEvalParamsTop"] is True
    assert galtea.get_metric(created["id"])["name"] == "Faithfulness"
    assert created["id"] in [m["id"] for m in galtea.list_metrics(tags=["rag"])]
    assert galtea.list_metrics(names=["no-such-name"]) == []


def test_revision_joins_family_and_turns_parent_legacy(galtea):
    name = f"Tone {uuid.uuid4().hex[:8]}"  # the sandbox is shared by the session: other tests make a "Tone" too
    parent = galtea.create_metric(name, source="HUMAN_EVALUATION")
    child = galtea.create_metric(name, source="HUMAN_EVALUATION", parent_metric_id=parent["id"])
    assert child["metricGroupId"] == parent["metricGroupId"]
    assert galtea.get_metric(parent["id"])["legacyAt"] is not None
    active = [m["id"] for m in galtea.list_metrics(names=[name])]
    assert active == [child["id"]]
    with_legacy = {m["id"] for m in galtea.list_metrics(names=[name], include_legacy=True)}
    assert with_legacy == {parent["id"], child["id"]}


def test_list_query_uses_bracket_keys(galtea):
    seen = []
    galtea._http.event_hooks["request"].append(lambda r: seen.append(str(r.url)))
    galtea.list_metrics(tags=["a", "b"], sort=("createdAt", "desc"), limit=5)
    assert "tags%5B%5D=a&tags%5B%5D=b" in seen[-1] and "sort%5B%5D=createdAt&sort%5B%5D=desc" in seen[-1]


def test_server_rejects_full_prompt(galtea):
    with pytest.raises(BadRequestError, match="FULL_PROMPT is deprecated"):
        galtea._call(Call("POST", "/metrics", json={"name": "x", "source": "FULL_PROMPT", "judgePrompt": "p"}))
    with pytest.raises(BadRequestError, match="FULL_PROMPT is deprecated"):
        galtea._call(Call("POST", "/metrics", json={"name": "x", "judgePrompt": "p"}))


def test_unknown_metric_and_parent(galtea):
    with pytest.raises(NotFoundError):
        galtea.get_metric("metric_missing")
    with pytest.raises(NotFoundError):
        galtea.create_metric("x", source="SELF_HOSTED", parent_metric_id="metric_missing")


def test_galtea_wrong_key_error_shape(sandbox):
    with pytest.raises(AuthenticationError) as info:
        GalteaClient(base_url=sandbox.url, api_key="gsk_bad").list_metrics()
    assert info.value.body == {"error": "Unauthorized", "message": "Invalid or missing API key"}
