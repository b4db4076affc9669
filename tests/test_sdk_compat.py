"""The official clients (orq-ai-sdk, baseten, galtea) accept every answer the sandbox gives.

These SDKs validate responses against their own pydantic models, so they catch
a missing required field that our own clients would tolerate. They come from
the ``[sdk-compat]`` extra, which the README's test command (and so CI) installs.
"""

from __future__ import annotations

import importlib
import os
import re
import time

import pytest

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
ASK = [{"role": "user", "content": "Weather in Paris?"}]
DEPLOYMENTS = ["support-bot", "summarizer", "code-helper", "reasoner", "weather-agent", "rag-bot", "judge-bot"]


def _sdk(module: str):
    """The SDK module; skipped only where the extra is not installed, never in CI (.ci/run sets ORQMAGIC_REQUIRE_SDKS)."""
    if os.environ.get("ORQMAGIC_REQUIRE_SDKS") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason='the official SDKs come with the extra: pip install -e ".[sdk-compat]"')


@pytest.fixture
def orq_sdk(sandbox):
    orq_ai_sdk = _sdk("orq_ai_sdk")
    with orq_ai_sdk.Orq(api_key=sandbox.key, server_url=sandbox.url) as client:
        yield client


@pytest.fixture
def baseten_sdk(sandbox):
    _sdk("baseten.client")
    from baseten.client import ManagementClient

    with ManagementClient(api_key=sandbox.key, base_url_override=sandbox.url) as client:
        yield client


@pytest.fixture
def galtea_sdk(sandbox):
    galtea = _sdk("galtea")
    return galtea.Galtea(api_key=sandbox.key, base_url=sandbox.url)


@pytest.mark.parametrize("key", DEPLOYMENTS)
def test_orq_sdk_parses_invoke_with_its_telemetry(orq_sdk, key):
    answer = orq_sdk.deployments.invoke(key=key, messages=ASK, invoke_options={"include_retrievals": True})
    assert HEX32.match(answer.telemetry.trace_id) and HEX16.match(answer.telemetry.span_id)
    assert answer.is_final and answer.choices[0].message.type in ("content", "tool_calls")


@pytest.mark.parametrize("key", DEPLOYMENTS)
def test_orq_sdk_parses_every_stream_chunk(orq_sdk, key):
    events = list(orq_sdk.deployments.stream(key=key, messages=ASK, invoke_options={"include_retrievals": True}))
    chunks = [e.data for e in events if e.data is not None]  # the data-less `event: ping` arrives as data=None
    assert len(chunks) > 1 and chunks[-1].is_final and not any(c.is_final for c in chunks[:-1])
    assert {c.telemetry.trace_id for c in chunks} == {chunks[0].telemetry.trace_id}
    assert HEX32.match(chunks[0].telemetry.trace_id)


def test_orq_sdk_lists_the_deployments(orq_sdk):
    page = orq_sdk.deployments.list(limit=2)
    assert [d.key for d in page.data] == DEPLOYMENTS[:2] and page.has_more
    everything = orq_sdk.deployments.list(limit=50)
    assert [d.key for d in everything.data] == DEPLOYMENTS and not everything.has_more
    assert everything.data[4].prompt_config.tools[0].function.name == "get_weather"


def test_baseten_sdk_reads_models_and_deployments(baseten_sdk):
    models = baseten_sdk.api.get_models().models
    assert [m.id for m in models] == ["llama-chat", "embedder"]
    assert models[0].created_at.tzinfo is not None and models[0].production_deployment_id == "prod-v3"
    for model in models:
        deployments = baseten_sdk.api.get_models_deployments(model_id=model.id).deployments
        assert len(deployments) == model.deployments_count
        assert {d.model_id for d in deployments} == {model.id}


@pytest.mark.parametrize("mode", ["CURRENT", "SUMMARY", "SERIES"])
def test_baseten_sdk_reads_metrics_in_every_mode(baseten_sdk, mode):
    from baseten.client.managementapi._models import GetModelsDeploymentsMetricsParams

    now = int(time.time() * 1000)
    window = {} if mode == "CURRENT" else {"start_epoch_millis": now - 6 * 3_600_000, "end_epoch_millis": now}
    names = ["baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds", "baseten_gpu_memory_used"]
    response = baseten_sdk.api.get_models_deployments_metrics(
        model_id="llama-chat", deployment_id="prod-v3",
        params=GetModelsDeploymentsMetricsParams(mode=mode, metrics=names, **window))
    assert response.mode == mode and [d.name for d in response.metric_descriptors] == names
    assert (response.step_seconds is not None) == (mode == "SERIES")
    assert len(response.metric_values) > 1 if mode == "SERIES" else len(response.metric_values) == 1


def test_galtea_sdk_creates_lists_and_gets_a_metric(galtea_sdk):
    created = galtea_sdk.metrics.create(name="SDK faithfulness", source="PARTIAL_PROMPT", judge_prompt="Stick to it.",
                                        evaluation_params=["input", "actualOutput"], tags=["sdk-compat"])
    assert created is not None, "the galtea SDK returns None when it cannot parse the create answer"
    assert created.id and created.created_at and created.metric_group_id == created.id
    listed = galtea_sdk.metrics.list(tags=["sdk-compat"])
    assert created.id in [m.id for m in listed]
    fetched = galtea_sdk.metrics.get(created.id)
    assert (fetched.name, fetched.evaluation_params, fetched.legacy_at) == ("SDK faithfulness", ["input", "actualOutput"], None)


def test_orq_sdk_reads_the_sandbox_errors(sandbox):
    orq_ai_sdk = _sdk("orq_ai_sdk")
    from orq_ai_sdk import models

    with orq_ai_sdk.Orq(api_key="wrong-key", server_url=sandbox.url) as wrong, pytest.raises(models.ErrorResponse) as caught:
        wrong.deployments.invoke(key="support-bot", messages=ASK)
    assert caught.value.data.message == "Invalid or missing API key"
    with orq_ai_sdk.Orq(api_key=sandbox.key, server_url=sandbox.url) as orq, pytest.raises(models.APIDefaultError) as caught:
        orq.deployments.invoke(key="suport-bot", messages=ASK)
    assert caught.value.status_code == 404 and "Did you mean 'support-bot'?" in caught.value.body


def test_galtea_sdk_starts_quietly_on_the_sandbox(sandbox, capsys):
    galtea = _sdk("galtea")
    galtea.Galtea(api_key=sandbox.key, base_url=sandbox.url)  # asks GET /minimum-sdk-version first
    assert "error" not in capsys.readouterr().out.lower()
    assert any(r["path"] == "/minimum-sdk-version" and r["status"] == 200 for r in sandbox.requests())
