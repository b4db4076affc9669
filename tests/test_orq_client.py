"""The orq client against the sandbox over HTTP: every endpoint, error class and stream fault."""

import asyncio

import httpx
import pytest

from orqmagic import (
    AuthenticationError,
    BadRequestError,
    MalformedChunkError,
    NotFoundError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    StreamInterrupted,
    StreamTimeout,
    TransportError,
    ValidationError,
)
from orqmagic.clients import AsyncOrqClient, OrqClient, StreamAccumulator
from orqmagic.clients._transport import Call
from orqmagic.sandbox.orq import DEPLOYMENTS

from .conftest import FAST_RETRY

PROMPT = [{"role": "user", "content": "How do I rotate my API key?"}]


def collect(chunks) -> StreamAccumulator:
    acc = StreamAccumulator()
    for chunk in chunks:
        acc.add(chunk)
    return acc


def test_invoke_returns_the_answer_with_usage(orq):
    answer = orq.invoke("support-bot", messages=PROMPT)
    assert answer["is_final"] is True
    assert "Rotate Api Key" in answer["choices"][0]["message"]["content"]
    assert answer["usage"]["input_tokens"] > 0


def test_stream_equals_invoke_text(orq):
    streamed = collect(orq.stream("support-bot", messages=PROMPT))
    invoked = orq.invoke("support-bot", messages=PROMPT)["choices"][0]["message"]["content"]
    assert streamed.text == invoked
    assert streamed.final and streamed.finish_reason == "stop"
    assert streamed.usage["completion_tokens"] > 0 and streamed.usage["prompt_tokens"] > 0
    assert len(streamed.id) == 26


def test_stream_sends_accept_event_stream_and_user_agent(sandbox):
    seen = {}

    def hook(request: httpx.Request) -> None:
        seen.update(request.headers)

    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key)
    client._http.event_hooks["request"].append(hook)
    collect(client.stream("support-bot", messages=PROMPT))
    assert seen["accept"] == "text/event-stream"
    assert seen["user-agent"].startswith("orqmagic/")
    assert seen["authorization"] == f"Bearer {sandbox.key}"


def test_every_seed_request_field_reaches_the_server(orq, sandbox):
    fields = dict(
        inputs={"customer": "Ada"}, context={"env": "prod"}, prefix_messages=[{"role": "system", "content": "Be brief."}],
        messages=PROMPT, identity={"id": "contact_1", "display_name": "Ada"}, file_ids=["file_1"],
        metadata={"team": "docs"}, extra_params={"temperature": 0.2},
        documents=[{"text": "Keys rotate daily.", "metadata": {"file_name": "k.md"}}],
        invoke_options={"include_usage": True}, thread={"id": "thread_1", "tags": ["t"]},
        knowledge_filter={"page": {"eq": 1}}, mock_response="mocked!", include_retrievals=True,
    )
    acc = collect(orq.stream("rag-bot", **fields))
    assert acc.text == "mocked!"
    answer = orq.invoke("rag-bot", **fields)
    assert answer["choices"][0]["message"]["content"] == "mocked!"


def test_reasoning_tool_calls_and_retrievals(orq):
    reasoner = collect(orq.stream("reasoner", messages=PROMPT))
    assert reasoner.reasoning.startswith("The user asks about")
    assert reasoner.text and reasoner.reasoning not in reasoner.text
    agent = collect(orq.stream("weather-agent", messages=[{"role": "user", "content": "weather in Lisbon?"}]))
    assert agent.tool_calls[0]["function"]["name"] == "get_weather"
    assert agent.tool_calls[0]["function"]["arguments"] == '{"city": "Lisbon", "unit": "celsius"}'
    assert agent.finish_reason == "tool_calls"
    rag = collect(orq.stream("rag-bot", messages=PROMPT, include_retrievals=True))
    assert rag.retrievals and rag.retrievals[0]["metadata"]["file_name"] == "security.md"


def test_final_chunk_repeating_the_text_is_not_appended_twice(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, headers={"X-Sandbox-Fault": "final_repeats=1"})
    repeated = collect(client.stream("support-bot", messages=PROMPT))
    plain = OrqClient(base_url=sandbox.url, api_key=sandbox.key).invoke("support-bot", messages=PROMPT)
    assert repeated.text == plain["choices"][0]["message"]["content"]


def test_add_metrics_is_recorded(orq, sandbox):
    response_id = orq.invoke("support-bot", messages=PROMPT)["id"]
    result = orq.add_metrics(response_id, score=87, usage={"prompt_tokens": 3, "completion_tokens": 5},
                             performance={"latency": 120.5, "time_to_first_token": 40}, metadata={"a": 1})
    assert result == {"success": True}
    record = sandbox.received("orq.metrics")[-1]
    assert record["transaction_id"] == response_id
    assert record["body"]["feedback"] == {"score": 87}
    assert record["body"]["performance"]["latency"] == 120.5


def test_add_metrics_for_unknown_response_is_404(orq):
    with pytest.raises(NotFoundError, match="No deployment response with id"):
        orq.add_metrics("01ARZ3NDEKTSV4RRFFQ69G5FAV", score=5)


def test_list_deployments_follows_pages(orq):
    keys = [d["key"] for d in orq.list_deployments(limit=2)]
    assert keys == ["support-bot", "summarizer", "code-helper", "reasoner", "weather-agent", "rag-bot", "judge-bot"]


def test_wrong_key_is_authentication_error_without_the_key(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key="sk-wrong-canary-key")
    with pytest.raises(AuthenticationError) as info:
        client.invoke("support-bot", messages=PROMPT)
    assert info.value.status_code == 401
    assert "canary" not in str(info.value)
    with pytest.raises(AuthenticationError):
        collect(client.stream("support-bot", messages=PROMPT))


def test_unknown_deployment_is_not_found(orq):
    with pytest.raises(NotFoundError, match="Deployment with key 'nope' not found"):
        orq.invoke("nope", messages=PROMPT)


def test_server_side_validation_is_a_bad_request(orq):
    with pytest.raises(BadRequestError, match="Invalid request: messages.0"):
        orq._call(Call("POST", "/v2/deployments/invoke", json={"key": "support-bot", "messages": [{"role": "robot"}]}))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"inputs": ["a"]}, "inputs"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"file_ids": "f1"}, "file_ids"),
        ({"documents": [{"body": "x"}]}, "documents"),
        ({"thread": {"tags": []}}, "thread"),
        ({"mock_response": 5}, "mock_response"),
    ],
)
def test_bad_request_fields_fail_before_sending(orq, sandbox, fields, field):
    mark = len(sandbox.requests())
    with pytest.raises(ValidationError) as info:
        orq.stream("support-bot", **fields)
    assert info.value.field == field
    assert sandbox.requests()[mark:] == []


def test_rate_limit_is_ridden_out_with_retry_after(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY,
                       headers={"X-Sandbox-Fault": "status=429,times=2,retry_after=0.05"})
    mark = len(sandbox.requests())
    answer = client.invoke("support-bot", messages=PROMPT)
    assert answer["choices"][0]["message"]["content"]
    assert [r["status"] for r in sandbox.requests()[mark:]] == [429, 429, 200]


def test_rate_limit_beyond_attempts_raises_with_retry_after(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY,
                       headers={"X-Sandbox-Fault": "status=429,retry_after=0.01"})
    with pytest.raises(RateLimitError) as info:
        client.invoke("support-bot", messages=PROMPT)
    assert info.value.retry_after == pytest.approx(0.01)


def test_server_errors_are_retried_for_reads_only(sandbox):
    fault = {"X-Sandbox-Fault": "status=503,times=2,retry_after=0.01"}
    reader = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY, headers=fault)
    assert len(reader.list_deployments()) == len(DEPLOYMENTS)
    sandbox.set_faults(None)
    writer = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY,
                       headers={"X-Sandbox-Fault": "status=500,times=1"})
    mark = len(sandbox.requests())
    with pytest.raises(ServerError, match="answered 500"):
        writer.invoke("support-bot", messages=PROMPT)
    assert len(sandbox.requests()[mark:]) == 1


def test_stream_is_retried_before_it_starts(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, retry=FAST_RETRY,
                       headers={"X-Sandbox-Fault": "status=429,times=1,retry_after=0.01"})
    assert collect(client.stream("support-bot", messages=PROMPT)).final


def test_connection_refused_is_a_transport_error():
    client = OrqClient(base_url="http://127.0.0.1:9", api_key="sk-canary-refused", retry=FAST_RETRY)
    with pytest.raises(TransportError, match="cannot reach orq.ai at http://127.0.0.1:9") as info:
        client.invoke("support-bot", messages=PROMPT)
    assert "canary" not in str(info.value)


def test_slow_answer_hits_the_timeout(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, timeout=0.2, retry=FAST_RETRY,
                       headers={"X-Sandbox-Fault": "latency_ms=1000"})
    with pytest.raises(RequestTimeout, match="timed out waiting for data"):
        client.invoke("support-bot", messages=PROMPT)


def test_slow_first_byte_hits_the_stream_timeout(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, stream_timeout=0.2,
                       headers={"X-Sandbox-Fault": "first_byte_ms=1500"})
    with pytest.raises(StreamTimeout, match="sent nothing for 0.2 s after 0 chunks"):
        collect(client.stream("support-bot", messages=PROMPT))


def test_mid_stream_drop_raises_after_the_chunks_that_arrived(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, headers={"X-Sandbox-Fault": "drop_after=5"})
    acc = StreamAccumulator()
    with pytest.raises(StreamInterrupted, match="broke after 5 chunks"):
        for chunk in client.stream("support-bot", messages=PROMPT):
            acc.add(chunk)
    assert acc.chunks == 5 and acc.text.startswith("## ")


def test_malformed_chunk_abandons_the_stream(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key=sandbox.key, headers={"X-Sandbox-Fault": "malformed_at=3"})
    acc = StreamAccumulator()
    with pytest.raises(MalformedChunkError, match="chunk 3 of the orq.ai stream is not valid JSON"):
        for chunk in client.stream("support-bot", messages=PROMPT):
            acc.add(chunk)
    assert acc.chunks == 2


def test_closing_a_stream_early_disconnects_from_the_server(orq, sandbox):
    sandbox_rate = sandbox.state.token_rate
    sandbox.state.token_rate = 200
    try:
        chunks = orq.stream("support-bot", messages=PROMPT)
        next(chunks)
        chunks.close()
        import time

        deadline = time.monotonic() + 5
        while not sandbox.streams()[-1]["disconnected"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sandbox.streams()[-1]["disconnected"]
        assert not sandbox.streams()[-1]["completed"]
    finally:
        sandbox.state.token_rate = sandbox_rate


def test_async_client_all_endpoints(sandbox):
    async def main():
        async with AsyncOrqClient(base_url=sandbox.url, api_key=sandbox.key) as client:
            acc = StreamAccumulator()
            async for chunk in client.stream("support-bot", messages=PROMPT):
                acc.add(chunk)
            answer = await client.invoke("support-bot", messages=PROMPT)
            ok = await client.add_metrics(answer["id"], score=10)
            deployments = await client.list_deployments()
            with pytest.raises(NotFoundError):
                await client.invoke("nope", messages=PROMPT)
            return acc, answer, ok, deployments

    acc, answer, ok, deployments = asyncio.run(main())
    assert acc.text == answer["choices"][0]["message"]["content"]
    assert ok == {"success": True} and len(deployments) == len(DEPLOYMENTS)


def test_async_stream_drop_keeps_chunks(sandbox):
    async def main():
        client = AsyncOrqClient(base_url=sandbox.url, api_key=sandbox.key, headers={"X-Sandbox-Fault": "drop_after=4"})
        acc = StreamAccumulator()
        with pytest.raises(StreamInterrupted):
            async for chunk in client.stream("support-bot", messages=PROMPT):
                acc.add(chunk)
        await client.aclose()
        return acc

    assert asyncio.run(main()).chunks == 4


def test_client_repr_hides_the_key(sandbox):
    client = OrqClient(base_url=sandbox.url, api_key="sk-canary-repr")
    assert "canary" not in repr(client) and "key=set" in repr(client)
