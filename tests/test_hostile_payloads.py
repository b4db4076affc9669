"""Hostile JSON from Baseten, and over-deep input from people: always one typed line, never a raw exception."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orqmagic
from orqmagic import OrqMagicError
from orqmagic.clients import BasetenClient, RetryPolicy
from tests.rogue import Reply, rogue_server

ONE_TRY = RetryPolicy(attempts=1)
GOOD = {"metric_descriptors": [{"name": "baseten_replicas_active", "unit_hint": "COUNT", "kind": "GAUGE",
                                "label_sets": [{"quantile": "0.5"}, {}]}],
        "metric_values": [{"start_epoch_millis": 1_700_000_000_000, "values": [[1.0, 2.0]]}],
        "mode": "CURRENT", "step_seconds": 60}
PATHS = [(), ("metric_descriptors",), ("metric_descriptors", 0), ("metric_descriptors", 0, "name"),
         ("metric_descriptors", 0, "label_sets"), ("metric_descriptors", 0, "label_sets", 0),
         ("metric_descriptors", 0, "unit_hint"), ("metric_descriptors", 0, "kind"), ("metric_values",),
         ("metric_values", 0), ("metric_values", 0, "values"), ("metric_values", 0, "start_epoch_millis"),
         ("metric_values", 0, "values", 0), ("metric_values", 0, "values", 0, 0), ("step_seconds",)]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                           max_leaves=8)


@pytest.fixture(scope="module")
def rogue():
    with rogue_server() as server:
        yield server


def json_reply(body) -> Reply:
    return Reply([json.dumps(body).encode()], headers={"content-type": "application/json"})


def replaced(path: tuple, value) -> object:
    if not path:
        return value
    doc = copy.deepcopy(GOOD)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PATHS), json_values)
def test_metrics_payloads_of_any_shape_give_a_frame_or_one_typed_line(rogue, path, value):
    """Before: four malformed payloads raised raw TypeError/AttributeError/ValueError."""
    client = BasetenClient(base_url=rogue.url(json_reply(replaced(path, value))), api_key="k", retry=ONE_TRY)
    try:
        frame = orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="CURRENT", baseten=client)
    except OrqMagicError as exc:
        assert "\n" not in str(exc)
    else:
        assert list(frame.columns)[:3] == ["time", "metric", "series"]


@pytest.mark.parametrize("payload", [None, [], "text", 5, {"metric_descriptors": [{"name": ["x"], "label_sets": [{}]}]},
                                     {"metric_descriptors": [{"name": "m", "label_sets": [{"q": {}}]}], "metric_values": []},
                                     {**GOOD, "metric_values": [{"start_epoch_millis": 1, "values": [[1, 2, 3], [4]]}]},
                                     {**GOOD, "metric_values": [{"start_epoch_millis": 10**30, "values": [[1, 2]]}]}],
                         ids=["null", "list", "text", "number", "name-list", "label-object", "ragged", "huge-time"])
def test_named_bad_metrics_payloads(rogue, payload):
    client = BasetenClient(base_url=rogue.url(json_reply(payload)), api_key="k", retry=ONE_TRY)
    with pytest.raises(OrqMagicError):
        orqmagic.fetch_metrics("llama-chat", "prod-v3", mode="CURRENT", baseten=client)


@pytest.mark.parametrize("payload", [None, [], {"models": None}, {"models": [1]}, {"models": [{"name": "no id"}]},
                                     {"models": "x"}])
def test_model_listings_of_the_wrong_shape_are_typed(rogue, payload):
    client = BasetenClient(base_url=rogue.url(json_reply(payload)), api_key="k", retry=ONE_TRY)
    with pytest.raises(OrqMagicError, match="unexpected shape"):
        client.list_models()
    with pytest.raises(OrqMagicError, match="unexpected shape"):
        client.list_deployments("llama-chat")


# -- over-deep input from people: one line, nothing sent ------------------------------------------------------------

DEEP_JSON = {"--extra-params": '{"a":' * 5000 + "1" + "}" * 5000, "--documents": "[" * 5000 + "]" * 5000,
             "--messages": "[" * 5000 + "]" * 5000, "--inputs": '{"a":' * 5000 + "1" + "}" * 5000}


@pytest.mark.parametrize("option", list(DEEP_JSON))
def test_over_deep_json_options_are_one_usage_line_and_nothing_is_sent(ip, sandbox, option):
    """Before: a raw RecursionError."""
    mark = len(sandbox.requests())
    if option == "--messages":  # the line form: the message list replaces the cell
        result = ip.run_cell(f"%invoke support-bot {option} '{DEEP_JSON[option]}'")
    else:
        result = ip.run_cell(f"%%invoke support-bot {option} '{DEEP_JSON[option]}'\nhello")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "nests too deeply" in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert len(str(result.error_in_exec)) < 200
    assert len(sandbox.requests()) == mark


@pytest.mark.parametrize("source", ["tags: " + "[" * 5000 + "]" * 5000, "tags: " + "- " * 3000 + "x"],
                         ids=["flow", "block"])
def test_over_deep_yaml_metric_is_one_usage_line(ip, source):
    result = ip.run_cell(f"%%metric\nname: deep\nsource: SELF_HOSTED\n{source}")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "\n" not in str(result.error_in_exec)


def test_over_deep_toml_metric_is_one_usage_line(ip):
    result = ip.run_cell("%%metric --toml\nname = 'deep'\nsource = 'SELF_HOSTED'\ntags = " + "[" * 5000 + "]" * 5000)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "nests too deeply" in str(result.error_in_exec)


def test_over_deep_values_in_python_are_a_validation_error_and_nothing_is_sent(sandbox_env, sandbox):
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    mark = len(sandbox.requests())
    with pytest.raises(orqmagic.ValidationError, match="nests deeper"):
        orqmagic.invoke("support-bot", "hi", extra_params=deep, display=False)
    assert len(sandbox.requests()) == mark


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
@pytest.mark.parametrize("status", [200, 404, 503])
def test_whole_answers_past_the_body_limit_are_one_typed_line(rogue, encoding, status):
    import gzip

    body = json.dumps({"message": "x" * 5000, "id": "01BODY"}).encode()
    headers = {"content-type": "application/json"}
    if encoding == "gzip":
        body, headers["content-encoding"] = gzip.compress(body), "gzip"
    client = orqmagic.OrqClient(base_url=rogue.url(Reply([body], status=status, headers=headers)), api_key="k",
                                retry=ONE_TRY)
    client.max_body = 4096
    with pytest.raises(OrqMagicError, match="larger than 4,096 bytes") as info:
        client.invoke("support-bot", inputs={"q": "x"})
    assert f"answered {status}" in str(info.value)
    client.max_body = 8192
    if status == 200:
        assert client.invoke("support-bot", inputs={"q": "x"})["id"] == "01BODY"
    else:
        with pytest.raises(orqmagic.APIError):
            client.invoke("support-bot", inputs={"q": "x"})


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
def test_whole_answers_in_an_encoding_we_do_not_read_are_typed(rogue, encoding):
    reply = Reply([b"\x00\x01garbage"], headers={"content-type": "application/json", "content-encoding": encoding})
    client = orqmagic.OrqClient(base_url=rogue.url(reply), api_key="k", retry=ONE_TRY)
    with pytest.raises(OrqMagicError, match="cannot be read"):
        client.invoke("support-bot", inputs={"q": "x"})
