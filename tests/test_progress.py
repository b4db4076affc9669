"""The batch progress bar claims what it knows, driven by events (finished rows, clock ticks), never by sleeping.

Issue 20: it showed 1/N after several rows had finished, the elapsed time stuck at 00:00, the ETA
swung from 01:05 to 00:18, the bar shrank at the end, and a saved notebook kept "0%| | 0/90".
"""

import io
import re
import threading

import nbformat
from nbclient import NotebookClient

from orqmagic.evaluation.progress import Progress, clock_text

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Clock:
    """A clock the test moves: tqdm and the bar read it, so elapsed and ETA are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def last_draw(out: io.StringIO) -> str:
    return out.getvalue().split("\r")[-1]


def test_every_finished_row_is_on_screen_at_once():
    out, clock = io.StringIO(), Clock()
    progress = Progress(90, "text", deployment="support-bot", clock=clock, tick_seconds=None, file=out)
    for done in range(1, 91):
        clock.now += 0.025  # rows of a real batch finish tens of ms apart or more: each one is drawn as it ends
        progress.update(failed=done == 7)
        assert f" {done}/90 " in last_draw(out)
    progress.close(interrupted=False)
    assert "90/90" in out.getvalue().split("\r")[-1].splitlines()[0]


def test_a_burst_of_rows_is_drawn_together_by_the_next_tick():
    out, clock = io.StringIO(), Clock()
    progress = Progress(90, "text", deployment="support-bot", clock=clock, tick_seconds=None, file=out)
    clock.now += 1
    progress.update(cached=True)
    draws = out.getvalue().count("\r")
    for _ in range(29):  # cached rows, microseconds apart: counted at once, drawn once
        clock.now += 0.0001
        progress.update(cached=True)
    assert progress.done == 30 and out.getvalue().count("\r") == draws and " 1/90 " in last_draw(out)
    assert progress._pending.is_set()  # the clock thread wakes for it within MIN_REDRAW
    progress.tick()
    assert " 30/90 " in last_draw(out) and "30 cached" in last_draw(out) and not progress._pending.is_set()


def test_the_clock_ticks_without_rows_and_the_eta_is_the_average_rate():
    out, clock = io.StringIO(), Clock()
    progress = Progress(10, "text", deployment="support-bot", clock=clock, tick_seconds=None, file=out)
    clock.now += 1
    for _ in range(4):  # a burst: four rows at once after 1 s, drawn together by the clock thread
        progress.update()
    progress.tick()
    assert "[00:01<00:01," in last_draw(out)  # 4 rows/s on average: 6 rows left take 1.5 s
    clock.now += 3  # nothing finishes for 3 s: the clock still moves, the ETA grows with the slower average
    progress.tick()
    assert "[00:04<00:06," in last_draw(out)  # 4 rows in 4 s: 6 left, 6 s
    clock.now += 1
    progress.update()
    assert "[00:05<00:05," in last_draw(out)  # 5 rows in 5 s: the estimate settles, it does not swing
    clock.now += 60
    for _ in range(5):
        progress.update()
    progress.close(interrupted=False)
    assert progress.summary_line() == "support-bot: 10/10 done in 1:05"


def test_the_final_line_says_what_happened():
    clock = Clock()
    progress = Progress(6, None, deployment="support-bot", resumed=2, clock=clock, tick_seconds=None)
    progress.update(failed=True)
    progress.update(cached=True)
    clock.now += 3725
    progress.close(interrupted=True, note=" · tokens 10 in → 20 out")
    assert progress.final_line == ("support-bot: 4/6 done in 1:02:05 · 1 failed · 2 resumed · 1 cached · interrupted"
                                   " · tokens 10 in → 20 out")
    assert [clock_text(s) for s in (0, 7.4, 65, 3600)] == ["0:00", "0:07", "1:05", "1:00:00"]


def test_a_saved_notebook_keeps_a_static_line_not_the_widget(sandbox_env):
    """In a kernel the bar is a widget while it runs; the saved output is a text/html + text/plain line."""
    cells = ["import orqmagic\nresults = orqmagic.invoke_many('support-bot', [{'topic': t} for t in 'abcde'], "
             "prompt='Explain {{topic}}', concurrency=2)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    shown = [o for o in notebook.cells[0].outputs if o.output_type == "display_data"]
    assert len(shown) == 1 and WIDGET_VIEW not in shown[0].data
    assert re.fullmatch(r"support-bot: 5/5 done in \d+:\d\d · tokens [\d,]+ in → [\d,]+ out", shown[0].data["text/plain"])
    assert shown[0].data["text/plain"] in shown[0].data["text/html"].replace("&gt;", ">")
    assert not any("0/5" in str(o) for o in notebook.cells[0].outputs)


def test_a_batch_that_fails_stops_the_clock_and_says_so(sandbox_env, monkeypatch):
    import pytest

    import orqmagic
    from orqmagic.evaluation import batch

    closed = []
    real_close = Progress.close

    def close(self, interrupted, note=""):
        real_close(self, interrupted, note)
        closed.append(self.final_line)

    def broken(_batch):
        raise RuntimeError("the loop broke")

    monkeypatch.setattr(Progress, "close", close)
    monkeypatch.setattr(batch, "run_in_worker", broken)
    with pytest.raises(RuntimeError, match="the loop broke"):
        orqmagic.invoke_many("support-bot", [{"topic": "a"}], prompt="{{topic}}", progress=False)
    assert len(closed) == 1
    assert re.fullmatch(r"support-bot: 0/1 done in \d+:\d\d · interrupted · stopped by an error", closed[0])


class Screen(io.StringIO):
    """A terminal that tells the test when a text appears on it."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.seen = wanted, threading.Event()

    def write(self, text: str) -> int:
        if self.wanted in text:
            self.seen.set()
        return super().write(text)


def test_the_clock_thread_draws_a_burst_without_another_event():
    screen = Screen(" 30/90 ")
    progress = Progress(90, "text", deployment="support-bot", tick_seconds=3600, file=screen)  # ticks: not this hour
    try:
        for _ in range(30):
            progress.update(cached=True)
        assert screen.seen.wait(60)  # woken by the undrawn rows, not by its hourly tick
    finally:
        progress.close(interrupted=False)
