"""Widgets say what they mean: icons without an emoji font, colours that match the news, no error before input,
and a static output that follows every place a widget is shown."""

from __future__ import annotations

import html

import IPython.display
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.render.columns import ERROR_STYLE, GOOD_STYLE, MUTED_STYLE, summary_line
from orqmagic.render.theme import MARK
from orqmagic.widgets import FeedbackPanel, MetricForm

EMOJI = "✅👍👎⏳⬇❌"


class Handle:
    def __init__(self, shown: list) -> None:
        self.shown = shown
        self.bundles: list[dict] = []

    def update(self, bundle, raw=False):
        self.bundles.append(bundle)


@pytest.fixture
def displays(monkeypatch):
    """Every ``display`` call: (bundle, handle or None)."""
    shown: list = []

    def display(bundle, raw=False, display_id=None):
        handle = Handle(shown) if display_id else None
        shown.append((bundle, handle))
        return handle

    monkeypatch.setattr(IPython.display, "display", display)
    return shown


def test_feedback_icons_need_no_emoji_font_and_each_display_follows_the_send(sandbox_env, displays):
    import orqmagic

    answer_id = orqmagic.invoke("support-bot", "How do I rotate my API key?", display=False).id
    panel = FeedbackPanel(answer_id)
    assert (panel.up.icon, panel.down.icon) == ("thumbs-up", "thumbs-down")
    assert not [c for c in panel.up.description + panel.down.description if c in EMOJI]
    panel._ipython_display_()
    panel._ipython_display_()  # shown twice: both saved outputs must follow
    views = [b for b, h in displays if h is None]
    statics = [h for b, h in displays if h is not None]
    assert len(views) == 2 and all("text/plain" not in v for v in views)  # no repr beside the widget
    assert displays[1][0]["text/plain"] == f"Feedback for {answer_id}: nothing sent yet"
    panel.up.click()
    for handle in statics:
        assert handle.bundles[-1]["text/plain"] == f"Feedback for {answer_id}: {MARK['ok']} sent (score 100)"
    assert not [c for c in panel.status.value + statics[0].bundles[-1]["text/html"] if c in EMOJI]


def test_metric_form_shows_no_error_before_anything_is_typed(sandbox_env):
    form = MetricForm()
    assert "orqmagic-warn" not in form.preview.value and "orqmagic-error" not in form.preview.value
    assert "fill in the form" in form.preview.value and form.create_button.disabled
    form.name.value = "x"
    form.name.value = ""  # typed, then removed: now the form says what is missing
    assert "orqmagic-warn" in form.preview.value


class Comparison:
    wall_ms = 120.0

    def summary(self):
        return {"fastest": "support-bot", "fastest_ms": 40.0, "fewest_tokens": "support-bot", "tokens": 96,
                "failed": ["suport-bot"], "interrupted": []}


def test_a_failure_is_never_in_the_success_colour():
    line = summary_line(Comparison())
    failed = line[line.index("failed: suport-bot") - 200:line.index("failed: suport-bot")]
    assert ERROR_STYLE in failed.rsplit("<span", 1)[-1] and GOOD_STYLE not in failed.rsplit("<span", 1)[-1]
    assert f'<span style="{GOOD_STYLE}">fastest: support-bot' in line


class Tie(Comparison):
    def summary(self):
        return {"fastest": None, "fastest_ms": None, "fastest_tied": ["a", "b"], "latencies_ms": {"a": 40.0, "b": 42.0},
                "fastest_tolerance_ms": 10.0, "fewest_tokens": "a", "tokens": 96, "failed": [], "interrupted": []}


def test_a_tie_is_a_plain_fact_not_good_news():
    line = summary_line(Tie())
    assert f'<span style="{MUTED_STYLE}">fastest: tie, a, b' in line


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(str.strip), st.text(min_size=1, max_size=30))
def test_saved_outputs_escape_whatever_people_type_or_name(comment, label):
    """A comment or a column label is text in the saved HTML, never markup (it is kept in the notebook file)."""
    from orqmagic.widgets.prefer import PreferBar

    panel = FeedbackPanel.__new__(FeedbackPanel)  # the saved-output methods only, no widget or request
    panel.transaction_id, panel.outcome = "01R", ("ok", "✓ sent (score 1)")
    panel._submitted = {"score": 1, "metadata": {"comment": comment.strip()}}
    assert f"<q>{html.escape(comment.strip())}</q>" in panel.static_html()
    bar = PreferBar.__new__(PreferBar)
    bar.buttons, bar.preferred, bar.outcome = {label: None, "b": None}, label, ("ok", f"✓ preferred {label}")
    page = bar.static_html()
    assert f"<b>{html.escape(label)}</b>" in page and page.count("<b>") == 1
