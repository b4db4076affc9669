"""Rendering: partial Markdown stays readable, footers, tails, and the live view's throttle."""

import IPython.display

from orqmagic.clients.accumulator import StreamAccumulator
from orqmagic.render.live import TAIL_CHARS, NotebookView, final_bundle
from orqmagic.render.markdown import close_open_fence, footer_line, render_markdown, render_text, tail_window
from orqmagic.result import InvokeResult


def test_open_fence_is_closed():
    assert close_open_fence("a\n```python\nx = 1") == "a\n```python\nx = 1\n```"
    assert close_open_fence("~~~~\ncode") == "~~~~\ncode\n~~~~"


def test_closed_fences_are_left_alone():
    text = "```\na\n```\n\n````md\n```\ninner\n```\n````"
    assert close_open_fence(text) == text


def test_tail_window_cuts_at_a_line_and_reopens_a_fence():
    text = "intro\n```python\n" + "".join(f"line {i}\n" for i in range(2000))
    tail, skipped = tail_window(text, 500)
    assert skipped > 0 and len(tail) <= 520
    assert tail.startswith("```python\nline ")
    assert tail_window("short", 500) == ("short", 0)


def result(**kwargs) -> InvokeResult:
    base = dict(text="Hello **world**", deployment="support-bot", id="01ABC", model="gpt-4o-mini", provider="openai",
                usage={"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}, latency_ms=1234.0, ttft_ms=87.0)
    return InvokeResult(**{**base, **kwargs})


def test_footer_line():
    assert footer_line(result()) == (
        "support-bot · openai/gpt-4o-mini · latency 1.23 s · TTFT 87 ms · tokens 3 → 5 · id 01ABC")


def test_markdown_render_folds_reasoning_and_shows_tools_and_status():
    md = render_markdown(result(reasoning="a < b", interrupted=True, complete=False,
                                tool_calls=[{"function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]))
    assert "<details><summary>Reasoning</summary>" in md and "a &lt; b" in md
    assert "`get_weather`" in md and '"city": "Oslo"' in md
    assert "interrupted: partial answer kept" in md
    assert md.index("Hello **world**") < md.index("<sub>")


def test_text_render_and_reprs():
    r = result()
    assert render_text(r).splitlines()[0] == "Hello **world**"
    assert str(r) == "Hello **world**"
    assert repr(r).startswith("InvokeResult('support-bot', id='01ABC', complete")
    assert final_bundle(r, "json", True)["application/json"]["id"] == "01ABC"


class StubHandle:
    def __init__(self):
        self.bodies = []

    def update(self, bundle, raw):
        self.bodies.append(bundle)


def test_notebook_view_closes_fences_and_throttles(monkeypatch):
    handle = StubHandle()

    def fake_display(bundle, raw, display_id):
        handle.bodies.append(bundle)
        return handle

    monkeypatch.setattr(IPython.display, "display", fake_display)
    view = NotebookView("support-bot", throttle=3600)
    acc = StreamAccumulator()
    acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": "Code:\n```python\nx = 1"}}]})
    view.update(acc)
    acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": "\ny = 2"}}]})
    view.update(acc)  # within the throttle interval: no update
    assert len(handle.bodies) == 1
    assert handle.bodies[0]["text/markdown"].startswith("Code:\n```python\nx = 1\n```")
    view.finish(result(text=acc.text))
    assert len(handle.bodies) == 2 and "y = 2" in handle.bodies[1]["text/markdown"]


def test_notebook_view_sends_a_bounded_tail_for_long_answers(monkeypatch):
    handle = StubHandle()
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, display_id: handle.bodies.append(bundle) or handle)
    clock = iter(range(10**6))
    monkeypatch.setattr("orqmagic.render.live.time.monotonic", lambda: float(next(clock)))  # every chunk: 1 s later
    view = NotebookView("support-bot", throttle=0.1)
    acc = StreamAccumulator()
    for i in range(3000):
        acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": f"word{i} "}}]})
        view.update(acc)
    assert max(len(b["text/markdown"]) for b in handle.bodies) <= TAIL_CHARS + 200
    assert "characters above" in handle.bodies[-1]["text/markdown"]
