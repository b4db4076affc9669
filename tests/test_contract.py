"""Sandbox responses and client requests validate against the seeds' OpenAPI (vendored in tests/specs)."""

import json
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from orqmagic.clients import OrqClient

SPECS = Path(__file__).resolve().parent / "specs"  # vendored copies: the suite needs nothing outside the repo


def spec(name: str) -> dict:
    return yaml.safe_load((SPECS / name).read_text())


def schema_for(document: dict, schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": document.get("components", {})})


def test_specs_are_vendored():
    assert sorted(p.name for p in SPECS.glob("*.yaml")) == [
        "baseten-deployment-metrics.openapi.yaml", "orq-add-deployment-metrics.openapi.yaml",
        "orq-stream-deployment.openapi.yaml"]


@pytest.mark.parametrize(
    ("spec_name", "path", "vendored"),
    [("orq-stream-deployment.openapi.yaml", "/v2/deployments/stream", "orq_deployment_request"),
     ("orq-add-deployment-metrics.openapi.yaml", "/v2/deployments/{id}/metrics", "orq_metrics_request")],
)
def test_vendored_request_schemas_equal_the_specs(spec_name, path, vendored):
    document = spec(spec_name)
    expected = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    copy = json.loads(resources.files("orqmagic.sandbox").joinpath(f"schemas/{vendored}.json").read_text())
    copy.pop("$comment")
    components = copy.pop("components")
    assert copy == json.loads(json.dumps(expected))
    assert components == json.loads(json.dumps(document["components"]))


def capture(client) -> list[httpx.Request]:
    seen: list[httpx.Request] = []
    client._http.event_hooks["request"].append(seen.append)
    return seen


def test_stream_requests_and_chunks_match_the_spec(sandbox):
    document = spec("orq-stream-deployment.openapi.yaml")
    operation = document["paths"]["/v2/deployments/stream"]["post"]
    request_schema = schema_for(document, operation["requestBody"]["content"]["application/json"]["schema"])
    chunk_schema = schema_for(document, operation["responses"]["200"]["content"]["text/event-stream"]["schema"])
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key)
    seen = capture(client)
    chunks = list(client.stream("rag-bot", messages=[{"role": "user", "content": "hi"}], inputs={"a": 1},
                                thread="t1", identity="contact_1", include_retrievals=True))
    request_schema.validate(json.loads(seen[-1].content))
    for chunk in chunks:
        chunk_schema.validate(chunk)
    assert chunks[-1]["is_final"] and "retrievals" in chunks[-1]


def test_add_metrics_request_and_response_match_the_spec(sandbox):
    document = spec("orq-add-deployment-metrics.openapi.yaml")
    operation = document["paths"]["/v2/deployments/{id}/metrics"]["post"]
    request_schema = schema_for(document, operation["requestBody"]["content"]["application/json"]["schema"])
    response_schema = schema_for(document, operation["responses"]["200"]["content"]["application/json"]["schema"])
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key)
    seen = capture(client)
    response_id = client.invoke("support-bot", inputs={"q": "x"})["id"]
    answer = client.add_metrics(response_id, score=100, usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                                performance={"latency": 10, "time_to_first_token": 2}, metadata={"k": "v"},
                                messages=[{"role": "user", "content": "x"}])
    request_schema.validate(json.loads(seen[-1].content))
    response_schema.validate(answer)


@pytest.mark.parametrize("mode", ["CURRENT", "SUMMARY", "SERIES"])
def test_baseten_metrics_responses_match_the_spec(baseten, mode):
    document = spec("baseten-deployment-metrics.openapi.yaml")
    schema = document["components"]["schemas"]["GetDeploymentMetricsResponseV1"]
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/GetDeploymentMetricsResponseV1",
                                                 "components": document["components"]})
    assert schema["required"]
    now = int(time.time() * 1000)
    window = {} if mode == "CURRENT" else {"start": now - 6 * 3_600_000, "end": now}
    names = ["baseten_inference_requests_total", "baseten_end_to_end_response_time_seconds", "baseten_gpu_memory_used",
             "baseten_llm_kv_cache_hit_rate"]
    response = baseten.deployment_metrics("llama-chat", "prod-v3", names, mode=mode, **window)
    validator.validate(response)
    for value_set in response["metric_values"]:
        assert [len(v) for v in value_set["values"]] == [len(d["label_sets"]) for d in response["metric_descriptors"]]


@pytest.mark.parametrize("key", ["support-bot", "reasoner", "weather-agent", "rag-bot"])
def test_invoke_answers_have_the_stream_chunk_shape(orq, key):
    """The invoke answer is a final chunk (seed 001 lists its fields; telemetry as in the stream spec)."""
    document = spec("orq-stream-deployment.openapi.yaml")
    operation = document["paths"]["/v2/deployments/stream"]["post"]
    chunk_schema = schema_for(document, operation["responses"]["200"]["content"]["text/event-stream"]["schema"])
    answer = orq.invoke(key, messages=[{"role": "user", "content": "Weather in Paris?"}], include_retrievals=True)
    chunk_schema.validate(answer)
    assert answer["is_final"] and set(answer["telemetry"]) == {"trace_id", "span_id"}


def _bodies() -> list[dict]:
    """Valid and invalid request bodies, to compare the sandbox's validator with jsonschema."""
    message = {"role": "user", "content": "hi"}
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
    return [
        {"key": "support-bot", "messages": [message]},
        {"key": "support-bot", "messages": [{"role": "user", "content": parts}], "inputs": {"a": 1}, "thread": {"id": "t"}},
        {"key": "support-bot", "messages": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]},
        {"key": "support-bot", "messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]},
        {"key": "support-bot", "documents": [{"text": "t", "metadata": {"file_name": "a", "page_number": 2}}]},
        {"key": "support-bot", "invoke_options": {"mock_response": "m", "include_retrievals": True}},
        {"key": 1}, {"messages": [message]}, {"key": "k", "messages": [{"role": "robot"}]},
        {"key": "k", "messages": [{"role": "user"}]}, {"key": "k", "messages": {"role": "user"}},
        {"key": "k", "inputs": ["a"]}, {"key": "k", "file_ids": [1]}, {"key": "k", "documents": [{"metadata": {}}]},
        {"key": "k", "invoke_options": {"include_retrievals": "yes"}}, {"key": "k", "thread": {"tags": []}},
        {"key": "k", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
        {"key": "k", "messages": [{"role": "user", "content": [{"type": "video", "text": "a"}]}]},
        {"key": "k", "identity": {"id": 3}}, {"key": "k", "stream": "true"}, [], "text",
    ]


def _metrics_bodies() -> list[dict]:
    return [
        {"feedback": {"score": 90}}, {"feedback": {"score": 101}}, {"feedback": {"score": "a"}},
        {"usage": {"prompt_tokens": 1, "completion_tokens": 2}}, {"usage": {"prompt_tokens": 1}},
        {"performance": {"latency": 10, "time_to_first_token": 2}}, {"performance": {"time_to_first_token": 2}},
        {"messages": [{"role": "user", "content": "x"}]}, {"messages": [{"role": "nobody", "content": "x"}]},
        {"choices": [{"role": "assistant", "content": "a"}]}, {"metadata": {"k": [1, {"a": None}]}}, {"metadata": 3},
    ]


@pytest.mark.parametrize(("name", "bodies"), [("orq_deployment_request", _bodies()), ("orq_metrics_request", _metrics_bodies())])
def test_sandbox_validator_agrees_with_jsonschema(name, bodies):
    from orqmagic.sandbox.schema import Validator

    schema = json.loads(resources.files("orqmagic.sandbox").joinpath(f"schemas/{name}.json").read_text())
    reference = jsonschema.Draft202012Validator(schema)
    ours = Validator(schema)
    verdicts = [(ours.error(body) is None, reference.is_valid(body)) for body in bodies]
    assert [a for a, _ in verdicts] == [b for _, b in verdicts]
    assert any(valid for valid, _ in verdicts) and not all(valid for valid, _ in verdicts)
    for body in bodies:
        found = ours.error(body)
        if found and isinstance(body, dict):  # the path we name lies on the path jsonschema's best match names
            best = jsonschema.exceptions.best_match(reference.iter_errors(body))
            assert list(found[0][:1]) == list(best.absolute_path)[:1]


def test_sandbox_does_not_import_jsonschema():
    code = ("import sys\nfrom orqmagic import Sandbox\nfrom orqmagic.clients import OrqClient\n"
            "with Sandbox(token_rate=0) as sb, OrqClient(base_url=sb.url, api_key=sb.key) as orq:\n"
            "    orq.invoke('support-bot', messages=[{'role': 'user', 'content': 'hi'}])\n"
            "print('jsonschema' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
