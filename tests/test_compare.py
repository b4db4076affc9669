"""Side-by-side comparisons in the shell and the Python API, against the sandbox over HTTP."""

from __future__ import annotations

import _thread
import io
import threading
import time

import pytest
from IPython.core.error import UsageError

import orqmagic
from orqmagic.clients import AsyncOrqClient
from orqmagic.evaluation.variants import plan
from orqmagic.magics.errors import CellError
from orqmagic.render.columns import ColumnsTerminalView, final_markdown, final_text
from orqmagic.render.diff import TextDiff
from tests.conftest import FAST_RETRY

QUESTION = "How do I rotate my API key and keep old integrations working?"
KEYS = ["code-helper", "support-bot", "summarizer"]


def expected_answer(orq, key: str, **fields) -> str:
    answer = orq.invoke(key, messages=[{"role": "user", "content": QUESTION}], **fields)
    return answer["choices"][0]["message"]["content"]


class FaultyColumnClient(AsyncOrqClient):
    """Adds the sandbox's per-request fault header to the calls of one deployment only."""

    def __init__(self, failing: str, spec: str, **kwargs):
        super().__init__(**kwargs)
        self.failing, self.spec = failing, spec

    def _build(self, call, stream):
        request = super()._build(call, stream)
        if isinstance(call.json, dict) and call.json.get("key") == self.failing:
            request.headers["X-Sandbox-Fault"] = self.spec
        return request


def test_columns_come_in_the_order_given_each_with_its_own_answer(sandbox_env, orq):
    comparison = orqmagic.compare(KEYS, QUESTION, display=False)
    assert comparison.labels == KEYS
    for key in KEYS:
        result = comparison[key]
        assert result.deployment == key and result.complete and result.error is None
        assert result.text == expected_answer(orq, key)
        assert result.id and result.latency_ms is not None and result.completion_tokens
    frame = comparison.to_frame()
    assert list(frame["label"]) == KEYS and list(frame["deployment"]) == KEYS
    assert list(frame["text"]) == [comparison[k].text for k in KEYS]
    assert {"latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "finish_reason", "error",
            "trace_id"} <= set(frame.columns)
    assert frame["error"].isna().all()


def test_variants_of_one_deployment_merge_into_the_shared_fields(sandbox_env, orq):
    variants = {"cold": {"extra_params": {"temperature": 0.0}}, "hot": {"extra_params": {"temperature": 1.2}},
                "terse": {"system": "Answer in one line."}}
    columns = plan(["support-bot"], QUESTION, variants, {"extra_params": {"max_tokens": 200}, "metadata": {"run": "t"}})
    assert [c.label for c in columns] == ["cold", "hot", "terse"]
    assert columns[0].request["extra_params"] == {"max_tokens": 200, "temperature": 0.0}
    assert columns[1].request["extra_params"] == {"max_tokens": 200, "temperature": 1.2}
    assert columns[2].request["messages"][0] == {"role": "system", "content": "Answer in one line."}
    assert all(c.request["metadata"] == {"run": "t"} for c in columns)
    comparison = orqmagic.compare("support-bot", QUESTION, variants=variants, display=False)
    assert comparison.labels == ["cold", "hot", "terse"]
    assert comparison["cold"].text == expected_answer(orq, "support-bot")
    assert all(r.complete and r.deployment == "support-bot" for r in comparison.results.values())


def test_keys_times_variants_label_every_column(sandbox_env):
    columns = plan(["support-bot", "summarizer"], "hi", {"a": {}, "b": {"system": "x"}}, {})
    assert [c.label for c in columns] == ["support-bot · a", "support-bot · b", "summarizer · a", "summarizer · b"]


def test_a_column_that_breaks_keeps_its_partial_text_and_the_others_go_on(sandbox, sandbox_env, orq):
    client = FaultyColumnClient("summarizer", "drop_after=4", base_url=sandbox.url, api_key=sandbox.key,
                                retry=FAST_RETRY)
    comparison = orqmagic.compare(KEYS, QUESTION, display=False, orq=client)
    broken = comparison["summarizer"]
    assert not broken.complete and broken.chunks == 4 and "broke after 4 chunks" in broken.error
    assert expected_answer(orq, "summarizer").startswith(broken.text) and broken.text
    for key in ("code-helper", "support-bot"):
        assert comparison[key].complete and comparison[key].text == expected_answer(orq, key)
    assert comparison.summary()["failed"] == ["summarizer"]
    markdown = final_markdown(comparison)
    assert "broke after 4 chunks" in markdown and markdown.count('class="orqmagic-column"') == 3


def test_unknown_key_fails_its_column_only_with_a_did_you_mean(ip, sandbox):
    ip.run_cell_magic("invoke", "support-bot suport-bot -o cmp", QUESTION)
    comparison = ip.user_ns["cmp"]
    assert comparison["support-bot"].complete
    error = comparison["suport-bot"].error
    assert "404" in error and "did you mean 'support-bot'?" in error.lower()
    assert error.lower().count("did you mean") == 1


def test_every_column_failing_fails_the_cell_in_one_line(ip, sandbox):
    result = ip.run_cell("%%invoke nope-bot nothing-here -o cmp\n" + QUESTION)
    assert isinstance(result.error_in_exec, CellError)
    assert "every column failed" in str(result.error_in_exec)
    assert ip.user_ns["cmp"].labels == ["nope-bot", "nothing-here"]


def test_magic_sends_the_cell_and_options_to_every_column(ip, sandbox, orq):
    ip.user_ns["temps"] = {"t0": {"extra_params": {"temperature": 0}}, "t1": {"extra_params": {"temperature": 1}}}
    ip.run_cell_magic("invoke", "support-bot summarizer --mock 'same mocked answer' -o cmp", "hi")
    comparison = ip.user_ns["cmp"]
    assert comparison.labels == ["support-bot", "summarizer"]
    assert all(r.text == "same mocked answer" for r in comparison.results.values())
    assert not comparison.diff().changed
    ip.run_cell_magic("invoke", "support-bot --variants temps -o cmp2", QUESTION)
    assert ip.user_ns["cmp2"].labels == ["t0", "t1"]
    assert ip.user_ns["cmp2"]["t1"].text == expected_answer(orq, "support-bot")
    assert ip.user_ns["_"] is ip.user_ns["cmp2"]


def wait_until_streaming(sandbox, count: int, mark: int, done: threading.Event) -> None:
    """Press Ctrl-C once every column's stream has sent text (an event, not a clock)."""
    while not done.is_set():
        streams = sandbox.streams()[mark:]
        if len(streams) >= count and all(s["chunks_sent"] > 2 for s in streams):
            _thread.interrupt_main()
            return
        done.wait(0.01)


def test_ctrl_c_stops_every_stream_and_keeps_all_partial_answers(ip, sandbox):
    sandbox.set_faults("token_rate=30")
    mark, done = len(sandbox.streams()), threading.Event()
    presser = threading.Thread(target=wait_until_streaming, args=(sandbox, 3, mark, done), daemon=True)
    presser.start()
    try:
        result = ip.run_cell("%%invoke support-bot summarizer code-helper -o cut\n" + QUESTION)
    finally:
        done.set()
        presser.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "partial answers kept in cut" in str(result.error_in_exec)
    cut = ip.user_ns["cut"]
    assert cut.interrupted and cut.labels == ["support-bot", "summarizer", "code-helper"]
    for partial in cut.results.values():
        assert partial.interrupted and not partial.complete and partial.text
    assert "interrupted: 3 of 3 columns stopped early" in final_markdown(cut)
    deadline = time.monotonic() + 10
    while not all(s["disconnected"] for s in sandbox.streams()[mark:]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(s["disconnected"] for s in sandbox.streams()[mark:]), "a stream was left open after Ctrl-C"


@pytest.mark.parametrize(("line", "message"), [
    ("support-bot summarizer --variants nope", "no variable named 'nope'"),
    ("support-bot --variants bad_variants", "unknown field 'temprature'; provider parameters such as temperature go in extra_params"),
    ("support-bot --variants not_a_dict", "variants must be a dict"),
    ("support-bot --variants typo_variants", "unknown field 'sytem'; did you mean 'system'"),
    ("support-bot summarizer --over frame", "--over runs one deployment"),
    ("support-bot summarizer --metadata x", "metadata"),
    ("support-bot summarizer --concurrency 0", "--concurrency must be 1 or more"),
])
def test_bad_options_are_one_usage_error_and_nothing_is_sent(ip, sandbox, line, message):
    ip.user_ns.update(bad_variants={"a": {"temprature": 0.2}}, typo_variants={"a": {"sytem": "x"}}, not_a_dict=[1, 2], frame=None, x=3)
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        ip.run_cell_magic("invoke", line, QUESTION)
    assert sandbox.requests()[mark:] == []


@pytest.mark.parametrize(("keys", "kwargs", "message"), [
    (["support-bot"], {}, "two or more columns"),
    ([], {}, "deployment keys"),
    (["support-bot", "summarizer"], {"metadata": "x"}, "metadata must be a dict"),
    (["support-bot", "summarizer"], {"concurrency": 0}, "concurrency"),
    (["support-bot"], {"variants": {"a": "not a dict", "b": {}}}, "variant 'a' must be a dict"),
])
def test_bad_api_input_raises_validation_error_before_sending(sandbox_env, sandbox, keys, kwargs, message):
    mark = len(sandbox.requests())
    with pytest.raises(orqmagic.ValidationError, match=message):
        orqmagic.compare(keys, QUESTION, display=False, **kwargs)
    assert sandbox.requests()[mark:] == []


def test_prefer_sends_every_column_its_score_through_the_outbox(sandbox_env, sandbox):
    comparison = orqmagic.compare(KEYS, QUESTION, display=False)
    mark = len(sandbox.received("orq.metrics"))
    receipts = comparison.prefer("support-bot", high=90, low=20, comment="clearer")
    assert list(receipts) == KEYS and all(r.status == "sent" for r in receipts.values())
    got = {r["transaction_id"]: r["body"] for r in sandbox.received("orq.metrics")[mark:]}
    assert set(got) == {comparison[k].id for k in KEYS}
    for key in KEYS:
        body = got[comparison[key].id]
        assert body["feedback"]["score"] == (90 if key == "support-bot" else 20)
        assert body["metadata"]["preferred"] == "support-bot" and body["metadata"]["column"] == key
    assert got[comparison["support-bot"].id]["metadata"]["comment"] == "clearer"


def test_prefer_checks_label_and_scores_before_sending(sandbox_env, sandbox):
    comparison = orqmagic.compare(KEYS[:2], QUESTION, display=False)
    mark = len(sandbox.received("orq.metrics"))
    with pytest.raises(orqmagic.ValidationError, match="did you mean 'support-bot'"):
        comparison.prefer("suport-bot")
    with pytest.raises(orqmagic.ValidationError, match="score must be from 0 to 100"):
        comparison.prefer("support-bot", high=150)
    assert sandbox.received("orq.metrics")[mark:] == []


def test_prefer_bar_button_sends_the_preference(sandbox_env, sandbox):
    from orqmagic.widgets.prefer import PreferBar

    comparison = orqmagic.compare(KEYS[:2], QUESTION, display=False)
    bar = PreferBar(comparison)
    mark = len(sandbox.received("orq.metrics"))  # earlier tests' records (some without feedback) are not ours
    bar.buttons["support-bot"].click()
    scores = {r["transaction_id"]: r["body"]["feedback"]["score"] for r in sandbox.received("orq.metrics")[mark:]}
    assert scores[comparison["support-bot"].id] == 100 and scores[comparison["code-helper"].id] == 0
    assert "preferred" in bar.status.value and bar.buttons["support-bot"].button_style == "success"


def test_word_diff_marks_insertions_and_deletions():
    diff = TextDiff.of("the quick brown fox", "the slow brown fox jumps", a_label="a", b_label="b")
    assert [op for op, _ in diff.ops] == ["=", "-", "+", "=", "+"]
    assert "[-quick-] {+slow+}" in diff.text() and "{+jumps+}" in diff.text()
    markup = diff.html()
    assert "<del" in markup and ">quick </del>" in markup and ">slow </ins>" in markup and "\n\n" not in markup
    assert not TextDiff.of("same words", "same words").changed


def test_terminal_shows_the_columns_one_after_another(sandbox_env):
    comparison = orqmagic.compare(KEYS, QUESTION, display=False)
    out = io.StringIO()
    view = ColumnsTerminalView(stream=out)
    view.finish(comparison)
    text = out.getvalue()
    positions = [text.index(f"── {key} ──") for key in KEYS]
    assert positions == sorted(positions)
    for key in KEYS:
        assert comparison[key].text.strip().splitlines()[-1] in text
    assert "fastest:" in text and "diff code-helper → support-bot" in text
    assert final_text(comparison).index("── code-helper ──") < final_text(comparison).index("── summarizer ──")


def test_magic_in_the_terminal_prints_columns_in_order_and_no_stream_works(ip, sandbox, orq, capsys):
    ip.run_cell_magic("invoke", "summarizer support-bot --no-stream -o cmp", QUESTION)
    comparison = ip.user_ns["cmp"]
    assert all(not r.streamed and r.complete for r in comparison.results.values())
    assert comparison["summarizer"].text == expected_answer(orq, "summarizer")
    out = capsys.readouterr().out
    assert out.index("── summarizer ──") < out.index("── support-bot ──") < out.index("fastest:")


def test_cache_replays_every_column_of_an_identical_comparison(ip, sandbox):
    ip.run_cell_magic("invoke", "support-bot summarizer --cache -o first", QUESTION)
    mark = len(sandbox.requests())
    ip.run_cell_magic("invoke", "support-bot summarizer --cache -o again", QUESTION)
    first, again = ip.user_ns["first"], ip.user_ns["again"]
    assert sandbox.requests()[mark:] == []
    for key in ("support-bot", "summarizer"):
        assert again[key].cached and not first[key].cached and again[key].text == first[key].text
        assert again[key].id == first[key].id


def test_run_options_are_refused_with_a_comparison(ip, sandbox):
    mark = len(sandbox.requests())
    with pytest.raises(UsageError, match="go with --over DF"):
        ip.run_cell_magic("invoke", "support-bot summarizer --trials 2", QUESTION)
    assert sandbox.requests()[mark:] == []
