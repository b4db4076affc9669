"""2. Display cost of %%invoke, measured on the iopub channel of a real kernel (nbclient)."""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics

import httpx
import nbformat
from nbclient import NotebookClient

from ._common import Figure, environment, sandbox_process

CHUNK = 10  # every streamed word is "wNNNNNNNN ": 10 characters, so shown characters map to chunks


class Recorder(NotebookClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_cell: dict[int, list[dict]] = {}

    def process_message(self, msg, cell, cell_index):
        self.by_cell.setdefault(cell_index, []).append(msg)
        return super().process_message(msg, cell, cell_index)


def words(n: int) -> str:
    return "".join(f"w{i:08d} " for i in range(n)).rstrip()


def stamp(msg: dict) -> float:
    date = msg["header"]["date"]
    return (date if isinstance(date, dt.datetime) else dt.datetime.fromisoformat(str(date))).timestamp()


def shown_chars(body: str) -> int:
    skipped = re.match(r"\*… ([\d,]+) characters above", body)
    tail = body.split("\n\n", 1)[1] if skipped else body
    return (int(skipped.group(1).replace(",", "")) if skipped else 0) + len(tail.removesuffix(" ▍"))


def faults_cell(spec: str) -> str:
    return ("import httpx, os\nhttpx.put(os.environ['ORQ_BASE_URL'] + '/_sandbox/faults', content=" + repr(spec)
            + ", headers={'Authorization': 'Bearer ' + os.environ['ORQ_API_KEY']})")


def run(quick: bool) -> list[Figure]:
    big, realistic_chunks, rate = 5000, (1000 if quick else 3000), 100.0
    first_runs = 3 if quick else 7
    with sandbox_process() as (url, key):
        cells = ["%load_ext orqmagic", faults_cell(""), f'%%invoke support-bot --mock "{words(big)}" -o big\nhi',
                 faults_cell(f"token_rate={rate}"), f'%%invoke support-bot --mock "{words(realistic_chunks)}" -o real\nhi',
                 faults_cell("")]
        first_cells = []
        for _ in range(first_runs):
            first_cells.append(len(cells))
            cells.append('%%invoke support-bot --mock "short answer for timing" -o first\nhi')
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        with environment(ORQ_BASE_URL=url, ORQ_API_KEY=key):
            recorder = Recorder(notebook, timeout=600, kernel_name="python3")
            recorder.execute()
        streams = httpx.get(f"{url}/_sandbox/received", headers={"Authorization": f"Bearer {key}"}).json()["streams"]

    def display_msgs(index: int) -> list[dict]:
        return [m for m in recorder.by_cell[index] if m["msg_type"] in ("display_data", "update_display_data")]

    def text_msgs(index: int) -> list[dict]:
        """Display messages carrying answer text (not the placeholder shown until the first token)."""
        return [m for m in display_msgs(index)
                if "waiting for the first token" not in m["content"]["data"].get("text/markdown", "")]

    def size(msg: dict) -> int:
        return len(json.dumps(msg["content"]["data"]))

    # (a) unlimited rate: bytes on the wire against the answer's size
    big_msgs = display_msgs(2)
    answer_bytes = len(words(big))
    ratio = sum(size(m) for m in big_msgs) / answer_bytes

    # (b) a realistic stream: rate of updates, bytes per second, lag behind the stream
    msgs = text_msgs(4)
    interim, final = msgs[:-1], msgs[-1]
    stream = streams[1]
    first_chunk = stream["first_chunk_at"]
    span = max(stamp(final) - first_chunk, 1e-9)
    updates_per_s = len(interim) / span
    bytes_per_s = sum(size(m) for m in interim) / span
    sent_at = [first_chunk + n / rate for n in range(realistic_chunks)]  # chunk n leaves the sandbox on schedule
    worst = 0.0
    shown = 0
    for msg in [*interim, final]:
        t = stamp(msg)
        if shown < realistic_chunks:
            worst = max(worst, t - sent_at[shown])  # the oldest chunk not yet on screen
        body = msg["content"]["data"].get("text/markdown", "")
        shown = realistic_chunks if msg is final else min(realistic_chunks, shown_chars(body) // CHUNK)

    # (c) first text on screen after the first chunk left the sandbox
    delays = []
    for index, record in zip(first_cells, streams[2:], strict=True):
        delays.append((stamp(text_msgs(index)[0]) - record["first_chunk_at"]) * 1000)
    return [
        Figure(f"display (a): bytes sent / answer size, {big} chunks unlimited", ratio, "ratio", target=3.0),
        Figure(f"display (b): updates per second ({realistic_chunks} chunks at {rate:g}/s)", updates_per_s, "1/s", target=10.0),
        Figure("display (b): display traffic per second of streaming", bytes_per_s / 1024, "KiB/s", target=64.0),
        Figure("display (b): worst lag of the screen behind the stream", worst, "s", target=0.5),
        Figure(f"display (c): first text on screen after first chunk (median of {first_runs})",
               statistics.median(delays), "ms", target=10.0),
    ]
