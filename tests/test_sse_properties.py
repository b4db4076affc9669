"""SSE handling: however the bytes of a stream are split on the wire, the answer is the same."""

import itertools
import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from orqmagic.clients import OrqClient, StreamAccumulator


def wire(deltas: list[str], *, comments: bool) -> bytes:
    events = []
    if comments:
        events.append(": keep-alive\n\nevent: ping\n\n")
    for delta in deltas:
        chunk = {"id": "01ABC", "is_final": False, "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": delta}}]}
        events.append(f"data: {json.dumps(chunk)}\n\n")
    final = {"id": "01ABC", "is_final": True, "usage": {"prompt_tokens": 1, "completion_tokens": len(deltas)},
             "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": ""}, "finish_reason": "stop"}]}
    events.append(f"data: {json.dumps(final)}\r\n\r\n")
    events.append("data: [DONE]\n\n")
    return "".join(events).encode()


def answer(payload: bytes, cuts: list[int]) -> str:
    bounds = [0, *sorted(set(cuts)), len(payload)]
    pieces = [payload[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=httpx.ByteStream(b"") if not pieces else _Pieces(pieces))

    client = OrqClient(base_url="http://orq.test", api_key="k", transport=httpx.MockTransport(handler))
    acc = StreamAccumulator()
    for chunk in client.stream("support-bot", inputs={"q": "x"}):
        acc.add(chunk)
    assert acc.final and acc.finish_reason == "stop"
    return acc.text


class _Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self):
        yield from self._pieces


deltas = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(deltas, st.data(), st.booleans())
def test_any_byte_split_gives_the_same_answer(parts, data, comments):
    payload = wire(parts, comments=comments)
    cuts = data.draw(st.lists(st.integers(1, len(payload) - 1), max_size=40))
    assert answer(payload, cuts) == "".join(parts)
