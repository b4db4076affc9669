"""The stream accumulator: deltas, final chunks, tool calls, usage spellings, and arbitrary chunkings."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orqmagic.clients.accumulator import StreamAccumulator, normalise_usage


def chunk(content=None, *, final=False, reasoning=None, tool_calls=None, usage=None, finish=None, kind="content"):
    message = {"type": kind, "role": "assistant"}
    if content is not None:
        message["content"] = content
    if reasoning is not None:
        message["reasoning"] = reasoning
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    out = {"id": "01ABC", "model": "m", "provider": "p", "is_final": final,
           "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage is not None:
        out["usage"] = usage
    return out


def fold(chunks):
    acc = StreamAccumulator()
    for c in chunks:
        acc.add(c)
    return acc


def test_deltas_are_appended_and_add_returns_the_new_text():
    acc = StreamAccumulator()
    assert acc.add(chunk("Hel")) == "Hel"
    assert acc.add(chunk("lo")) == "lo"
    assert acc.text == "Hello" and acc.id == "01ABC" and acc.chunks == 2


def test_final_chunk_metadata_is_kept():
    acc = fold([chunk("Hi"), chunk("", final=True, finish="stop", usage={"prompt_tokens": 2, "completion_tokens": 1})])
    assert acc.final and acc.finish_reason == "stop"
    assert acc.usage == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}


def test_final_chunk_repeating_everything_is_ignored():
    assert fold([chunk("Hel"), chunk("lo"), chunk("Hello", final=True)]).text == "Hello"


def test_final_chunk_carrying_the_whole_text_adds_only_the_rest():
    assert fold([chunk("Hel"), chunk("Hello!", final=True)]).text == "Hello!"


def test_final_chunk_with_a_last_delta_is_appended():
    assert fold([chunk("Hello"), chunk(" world", final=True)]).text == "Hello world"


def test_invoke_response_alone_gives_the_text():
    assert fold([chunk("Whole answer", final=True, usage={"input_tokens": 4, "output_tokens": 2})]).usage == {
        "prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}


def test_both_usage_spellings():
    assert normalise_usage({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}) == {
        "prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert normalise_usage({"prompt_tokens": 5, "completion_tokens": 6}) == {
        "prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    assert normalise_usage(None) is None


def test_reasoning_is_kept_apart():
    acc = fold([chunk("", reasoning="think "), chunk("", reasoning="more"), chunk("Answer")])
    assert acc.reasoning == "think more" and acc.text == "Answer"


def test_tool_call_pieces_merge_by_index():
    acc = fold([
        chunk(kind="tool_calls", tool_calls=[{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}]),
        chunk(kind="tool_calls", tool_calls=[{"index": 1, "id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]),
        chunk(kind="tool_calls", tool_calls=[{"index": 0, "type": "function", "function": {"name": "", "arguments": ": 1}"}}]),
    ])
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in acc.tool_calls] == [
        ("c1", "f", '{"a": 1}'), ("c2", "g", "{}")]


def test_image_messages_are_collected():
    acc = fold([{"id": "x", "choices": [{"index": 0, "message": {"type": "image", "role": "assistant", "url": "https://i/1.png"}}]}])
    assert acc.images == ["https://i/1.png"]


def test_chunks_without_choices_are_counted_but_harmless():
    acc = fold([{"id": "x", "choices": []}, {"id": "x"}])
    assert acc.text == "" and acc.chunks == 2


def cuts(text: str):
    return st.lists(st.integers(min_value=0, max_value=len(text)), max_size=30).map(lambda xs: sorted(set(xs)))


@given(st.text(min_size=1, max_size=300).flatmap(lambda t: st.tuples(st.just(t), cuts(t))), st.sampled_from(["empty", "repeat", "none"]))
def test_any_chunking_of_a_text_gives_the_same_answer(text_and_cuts, final_style):
    text, positions = text_and_cuts
    bounds = [0, *positions, len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    chunks = [chunk(p) for p in pieces]
    if final_style == "empty":
        chunks.append(chunk("", final=True, usage={"prompt_tokens": 1, "completion_tokens": len(pieces)}))
    elif final_style == "repeat":
        chunks.append(chunk(text, final=True))
    assert fold(chunks).text == text


@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=10), st.data())
def test_tool_arguments_survive_any_split(parts, data):
    arguments = "".join(parts)
    pieces = [{"index": 0, "type": "function", "function": {"name": "f" if i == 0 else "", "arguments": p}} for i, p in enumerate(parts)]
    acc = fold([chunk(kind="tool_calls", tool_calls=[p]) for p in pieces])
    assert acc.tool_calls[0]["function"]["arguments"] == arguments


def _final(text: str) -> dict:
    return {"id": "r", "is_final": True, "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": text},
                                                       "finish_reason": "stop"}]}


def _delta(text: str) -> dict:
    return {"id": "r", "is_final": False, "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": text}}]}


@pytest.mark.parametrize(("deltas", "final", "expected"), [
    (["Hello", " world", "\n\n"], "Hello world", "Hello world\n\n"),
    (["Hello", " world", "\n\n"], "Hello world\n\n", "Hello world\n\n"),
    (["Hello", " world"], "  Hello world  ", "Hello world"),
    (["\nHello", " world"], "Hello world", "\nHello world"),
    (["Hello", " world", "\n"], "Hello world\nand more", "Hello world\nand more"),
    (["Hello", " world", "\n\n"], "Hello world and more", "Hello world\n\nand more"),
    (["Hello"], "Hello world", "Hello world"),
    (["Hello world"], "Hello", "Hello world"),
    ([], "Only final", "Only final"),
])
def test_final_chunk_repeating_the_text_is_never_appended_twice(deltas, final, expected):
    acc = StreamAccumulator()
    for piece in deltas:
        acc.add(_delta(piece))
    acc.add(_final(final))
    assert acc.text == expected
