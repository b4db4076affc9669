"""Answers stay inside their cell: no heading reaches the notebook's outline, and no interim render shows raw
Markdown, whatever the answer and wherever the stream has got to.

The oracle is mistune (the Markdown renderer nbconvert uses), with GFM tables. Generated answers use words
without Markdown characters, so any ``*``, ``_``, backtick or ``|`` left in the rendered text outside code
and tables is syntax that leaked: an unbalanced prefix.
"""

from __future__ import annotations

import html
import re

import mistune
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.render.balance import close_open_markdown, hold_back_table
from orqmagic.render.contain import contain_headings, contained

render = mistune.create_markdown(plugins=["table"], escape=False)

words = st.lists(st.sampled_from(["rotate", "key", "old", "token", "api", "keep", "step", "owner", "x1"]),
                 min_size=1, max_size=4).map(" ".join)
inline = st.one_of(
    words,
    words.map(lambda w: f"*{w}*"),
    words.map(lambda w: f"**{w}**"),
    words.map(lambda w: f"`{w}`"),
    words.map(lambda w: f"_{w}_"),
    words.map(lambda w: f"***{w}***"),
)
paragraph = st.lists(inline, min_size=1, max_size=5).map(" ".join)
heading = st.tuples(st.integers(1, 6), words).map(lambda t: f"{'#' * t[0]} {t[1]}")
setext = st.tuples(words, st.sampled_from(["===", "---"])).map(lambda t: f"{t[0]}\n{t[1]}")
fence = st.tuples(st.sampled_from(["```", "~~~", "````"]), st.lists(words, max_size=3)).map(
    lambda t: "\n".join([t[0] + "python", *t[1], t[0]]))
table = st.tuples(st.integers(2, 4), st.lists(st.lists(words, min_size=4, max_size=4), min_size=1, max_size=3)).map(
    lambda t: "\n".join(["| " + " | ".join(f"h{i}" for i in range(t[0])) + " |",
                         "|" + "---|" * t[0]] + ["| " + " | ".join(row[:t[0]]) + " |" for row in t[1]]))
bullets = st.lists(paragraph, min_size=1, max_size=3).map(lambda items: "\n".join(f"- {i}" for i in items))
nested = st.tuples(st.sampled_from(["- ", "> ", "1. ", "> - ", "* "]), heading).map("".join)  # "- # Title"
answers = st.lists(st.one_of(paragraph, heading, setext, fence, table, bullets, nested), min_size=1, max_size=6).map(
    "\n\n".join)


def leaked(markdown: str) -> list[str]:
    """Markdown syntax left as text in the render of ``markdown`` (outside code and table markup)."""
    page = render(markdown)
    page = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    return re.findall(r"[*_`|]|^#", text, flags=re.M)


@settings(max_examples=150, deadline=None)
@given(answers, st.data())
def test_every_prefix_of_every_answer_renders_balanced(answer, data):
    cut = data.draw(st.integers(0, len(answer)), label="cut")
    shown = contain_headings(close_open_markdown(answer[:cut]))
    assert leaked(shown) == [], shown
    assert not re.search(r"<h[1-6][ >]", render(shown))


@settings(max_examples=100, deadline=None)
@given(answers)
def test_a_settled_answer_has_no_heading_for_the_outline_and_keeps_every_word(answer):
    shown = contain_headings(answer)
    page = render(contained(shown))
    assert not re.search(r"<h[1-6][ >]", page)
    assert not re.search(r"^ {0,3}#{1,6}( |$)", shown, flags=re.M) or "```" in answer or "~~~" in answer
    words_in = re.findall(r"[a-z0-9]+", re.sub(r"python|h\d|^[ >*-]*\d+\.", "", answer, flags=re.M))  # list numbers
    words_out = re.findall(r"[a-z0-9]+", re.sub(r"<[^>]+>|python|h\d", "", page))
    assert set(words_in) <= set(words_out)  # containment drops no text


def test_headings_become_role_heading_divs_that_keep_their_level_and_markdown():
    shown = contain_headings("## Rotate `api` key\n\nbody\n\nTitle\n=====\n\n```\n# a comment, not a heading\n```")
    page = render(shown)
    assert '<div role="heading" aria-level="2" class="orqmagic-heading"' in page and "<code>api</code>" in page
    assert 'aria-level="1"' in page and "Title" in page
    assert "# a comment, not a heading" in page  # code is left alone


def test_a_table_shows_once_its_delimiter_row_is_in():
    assert hold_back_table("Steps:\n\n| step | owner") == "Steps:"
    assert hold_back_table("Steps:\n\n| step | owner |\n") == "Steps:"
    assert hold_back_table("Steps:\n\n| step | owner |\n|---|--") == "Steps:"  # the delimiter is still arriving
    table = "Steps:\n\n| step | owner |\n|---|---|\n"
    assert hold_back_table(table) == table  # from here the table shows
    assert hold_back_table(table + "| rotate | ops") == table.rstrip("\n")  # each row once its line is complete
    assert hold_back_table(table + "| rotate | ops |\n") == table + "| rotate | ops |\n"
