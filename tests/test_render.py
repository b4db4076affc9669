"""Rendering: partial Markdown stays readable, footers, tails, and the live view's throttle."""

import IPython.display

from orqmagic.clients.accumulator import StreamAccumulator
from orqmagic.render.live import TAIL_CHARS, NotebookView, final_bundle
from orqmagic.render.markdown import (
    close_open_fence,
    close_open_markdown,
    footer_line,
    render_markdown,
    render_text,
    tail_window,
)
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
    assert '"id": "01ABC"' in final_bundle(r, "json", True)["text/plain"]


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
    view = NotebookView("support-bot", throttle=3600, placeholder_delay=0)
    acc = StreamAccumulator()
    acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": "Code:\n```python\nx = 1"}}]})
    view.update(acc)
    acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": "\ny = 2"}}]})
    view.update(acc)  # within the throttle interval: no update
    assert len(handle.bodies) == 2  # the placeholder, then the first text
    assert handle.bodies[1]["text/markdown"].startswith("Code:\n```python\nx = 1\n```")
    view.finish(result(text=acc.text))
    assert len(handle.bodies) == 3 and "y = 2" in handle.bodies[2]["text/markdown"]


def test_notebook_view_sends_a_bounded_tail_for_long_answers(monkeypatch):
    handle = StubHandle()
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, display_id: handle.bodies.append(bundle) or handle)
    clock = iter(range(10**6))
    monkeypatch.setattr("orqmagic.render.live.time.monotonic", lambda: float(next(clock)))  # every chunk: 1 s later
    view = NotebookView("support-bot", throttle=0.1, placeholder_delay=None)
    acc = StreamAccumulator()
    for i in range(3000):
        acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": f"word{i} "}}]})
        view.update(acc)
    assert max(len(b["text/markdown"]) for b in handle.bodies) <= TAIL_CHARS + 200
    assert "characters above" in handle.bodies[-1]["text/markdown"]


def test_interim_renders_never_flash_unbalanced_markdown():
    assert close_open_markdown("*How do I rotate my ") == "*How do I rotate my*"
    assert close_open_markdown("**bold and *it") == "**bold and *it***"
    assert close_open_markdown("run `pip inst") == "run `pip inst`"
    assert close_open_markdown("done **") == "done"  # a bare opener waits for its text
    assert close_open_markdown("* item\n* item two") == "* item\n* item two"  # bullets are not emphasis
    assert close_open_markdown("snake_case and **a** b") == "snake_case and **a** b"
    assert close_open_markdown("x\n```py\n*a") == "x\n```py\n*a\n```"  # inside code: only the fence closes


def fake_display(monkeypatch) -> StubHandle:
    handle = StubHandle()
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, display_id: handle.bodies.append(bundle) or handle)
    return handle


def test_placeholder_names_the_deployment_until_the_first_token(monkeypatch):
    handle = fake_display(monkeypatch)
    view = NotebookView("support-bot", placeholder_delay=0)
    first = handle.bodies[0]["text/markdown"]
    assert first.startswith("*support-bot · waiting for the first token · ") and first.endswith(" s*")
    view.status("rate limited, retrying in 20 s")
    assert "rate limited, retrying in 20 s" in handle.bodies[-1]["text/markdown"]
    acc = StreamAccumulator()
    acc.add({"id": "x", "choices": [{"message": {"type": "content", "content": "*How do I"}}]})
    view.update(acc)
    assert handle.bodies[-1]["text/markdown"] == "*How do I*" + " ▍"
    view._tick()  # a late clock tick never covers the text
    assert handle.bodies[-1]["text/markdown"] == "*How do I*" + " ▍"


def test_a_call_that_fails_before_text_takes_the_placeholder_down(monkeypatch):
    handle = fake_display(monkeypatch)
    view = NotebookView("support-bot", placeholder_delay=0)
    view.abandon()
    assert handle.bodies[-1]["text/plain"].startswith("no answer from support-bot (")
    quick = StubHandle()
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, display_id: quick.bodies.append(bundle) or quick)
    NotebookView("support-bot", placeholder_delay=3600).abandon()  # failed before the placeholder was due
    assert quick.bodies == []  # a fast error leaves no output besides the error


def test_json_format_keeps_the_footer_with_rounded_numbers():
    bundle = final_bundle(result(latency_ms=1325.0481100000115, ttft_ms=87.123456), "json", True)
    assert "application/json" not in bundle  # the JSON viewer would hide the footer
    assert '"latency_ms": 1325.0' in bundle["text/markdown"] and "1325.048" not in bundle["text/markdown"]
    assert "\n```json\n" in bundle["text/markdown"] and "latency 1.33 s · TTFT 87 ms" in bundle["text/markdown"]
    assert bundle["text/plain"].endswith("-- " + footer_line(result(latency_ms=1325.0481100000115, ttft_ms=87.123456)))


def test_orqmagic_errors_show_as_one_wrapped_line_in_ipython(ip, capsys):
    from orqmagic import ValidationError

    result = ip.run_cell("from orqmagic import ValidationError\nraise ValidationError('score must be from 0 to 100, got 150')")
    lines = result.error_in_exec._render_traceback_()
    assert lines == ["\x1b[31mValidationError: score must be from 0 to 100, got 150\x1b[0m"]
    long = ValidationError("word " * 60)._render_traceback_()
    assert len(long) > 1 and all(line.removeprefix("\x1b[31m").removesuffix("\x1b[0m").endswith("word") for line in long)
    ip.run_line_magic("config", "OrqMagic.show_traceback = True")
    try:
        full = "\n".join(ip.run_cell("raise ValidationError('x')").error_in_exec._render_traceback_())
        assert "Traceback" in full and "ValidationError" in full  # the full traceback, as %xmode formats it
        capsys.readouterr()
        ip.run_cell("raise ValidationError('shown in full')")
        shown = capsys.readouterr()
        assert "shown in full" in shown.out + shown.err
        assert "Unexpected exception formatting exception" not in shown.out + shown.err  # before: printed first
    finally:
        ip.run_line_magic("config", "OrqMagic.show_traceback = False")
