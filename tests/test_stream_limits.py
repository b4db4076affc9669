"""What one stream event may cost: the largest accepted, and a gzip bomb refused without the memory it asks for.

Each measurement runs in a fresh interpreter (peak RSS only ever grows) with a
rogue server in it; the figures are printed for the README and the issue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orqmagic.clients.sse import MAX_EVENT

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import gzip, json, sys, zlib
from orqmagic.clients import OrqClient, RetryPolicy, StreamAccumulator
from orqmagic.errors import OrqMagicError
from tests.rogue import Reply, rogue_server

kind, size = sys.argv[1], int(sys.argv[2])

def head(text):
    return json.dumps({"id": "01LIMIT", "is_final": False, "choices": [{"index": 0, "message": {"content": text}}]})

def gzipped(parts):
    out = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join([*(out.compress(p) for p in parts), out.flush()])

if kind == "body-bomb":  # an invoke answer (not a stream) of `size` bytes of JSON text, gzipped the same way
    block = b"0" * (1 << 20)
    body = gzipped([b'{"id": "01LIMIT", "choices": [{"message": {"content": "', *(block for _ in range(size >> 20)), b'"}}]}'])
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
elif kind == "bomb":  # one line of `size` bytes, compressed a megabyte at a time (never held whole here)
    block = b"0" * (1 << 20)
    body = gzipped([b"data: " + head("before the bomb ").encode() + b"\n\ndata: ",
                    *(block for _ in range(size >> 20)), b"\n\n"])
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
else:  # one event of `size` characters (its line, without the blank line ending it), then the end of the stream
    filler = "w" * (size - len("data: " + head("")))
    body = ("data: " + head(filler) + "\n\n" + 'data: {"is_final": true, "choices": []}\n\ndata: [DONE]\n\n').encode()
    headers = {"content-type": "text/event-stream"}

def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

def reset_peak():  # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")

with rogue_server() as rogue:
    wire = len(body)
    url = rogue.url(Reply([body[i:i + 65536] for i in range(0, len(body), 65536)], headers=headers))
    del body
    reset_peak()
    before = peak_kb()
    client = OrqClient(base_url=url, api_key="k", retry=RetryPolicy(attempts=1))
    acc = StreamAccumulator()
    outcome = "complete"
    try:
        if kind == "body-bomb":
            acc.add(client.invoke("support-bot", inputs={"q": "x"}))
        else:
            for chunk in client.stream("support-bot", inputs={"q": "x"}):
                acc.add(chunk)
    except OrqMagicError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    after = peak_kb()
print(json.dumps({"wire": wire, "rss_mb": (after - before) / 1024, "outcome": outcome, "text": len(acc.text),
                  "kept": acc.text[:16]}))
"""


def measure(kind: str, size: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(size)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is reset and read through /proc")
def test_a_gzip_bomb_of_one_300_mb_line_is_refused_in_bounded_memory():
    """Before: 300 kB of gzip that inflates to one 300 MB line added 911 MB of RSS; now one line and little memory."""
    figures = measure("bomb", 300 << 20)
    print(f"\n300 MB gzip bomb ({figures['wire'] / 1024:.0f} KiB on the wire): +{figures['rss_mb']:.0f} MB RSS; "
          f"{figures['outcome']}")
    assert figures["outcome"].startswith("MalformedChunkError") and "larger than" in figures["outcome"]
    assert figures["kept"] == "before the bomb "
    assert figures["rss_mb"] < 120  # the cap (8 Mi characters) and its copies, not the 300 MB the server asked for


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is reset and read through /proc")
def test_the_largest_event_is_accepted_and_one_more_character_is_not():
    largest = measure("event", MAX_EVENT)
    print(f"\nlargest event accepted: {MAX_EVENT:,} characters, +{largest['rss_mb']:.0f} MB RSS")
    assert largest["outcome"] == "complete" and largest["text"] > MAX_EVENT - 200
    too_large = measure("event", MAX_EVENT + 1)
    assert too_large["outcome"].startswith("MalformedChunkError") and too_large["text"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is reset and read through /proc")
def test_a_gzip_bomb_as_a_whole_answer_is_refused_in_bounded_memory():
    """Answers that are not streams (invoke, listings, error bodies) are inflated piece by piece up to 64 MiB."""
    figures = measure("body-bomb", 300 << 20)
    print(f"\n300 MB gzip bomb as an invoke answer: +{figures['rss_mb']:.0f} MB RSS; {figures['outcome']}")
    assert figures["outcome"].startswith("OrqMagicError") and "larger than" in figures["outcome"]
    assert figures["rss_mb"] < 160  # the 64 MiB limit, not the 300 MB the server asked for
