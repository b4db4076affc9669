"""1. Stream client overhead: a 5,000-chunk answer at unlimited rate, three clients side by side."""

from __future__ import annotations

import json

import httpx
from httpx_sse import connect_sse

from orqmagic.clients import OrqClient, StreamAccumulator

from ._common import Figure, interleaved, sandbox_process

CHUNKS = 5000


def run(quick: bool) -> list[Figure]:
    repeat = 5 if quick else 15
    text = " ".join(f"w{i}" for i in range(CHUNKS))
    body = {"key": "support-bot", "stream": True, "invoke_options": {"mock_response": text}}
    with sandbox_process() as (url, key):
        headers = {"Authorization": f"Bearer {key}"}
        bare_client = httpx.Client(base_url=url, headers=headers, timeout=60)
        orq = OrqClient(base_url=url, api_key=key)

        def bare() -> str:
            parts = []
            with connect_sse(bare_client, "POST", "/v2/deployments/stream", json=body) as source:
                for sse in source.iter_sse():
                    if sse.data == "[DONE]":
                        break
                    if sse.data:
                        chunk = json.loads(sse.data)
                        content = chunk["choices"][0]["message"].get("content")
                        if content:
                            parts.append(content)
            return "".join(parts)

        def ours() -> str:
            acc = StreamAccumulator()
            for chunk in orq.stream("support-bot", mock_response=text):
                acc.add(chunk)
            return acc.text

        functions = {"bare": bare, "orqmagic": ours}
        sdk_note = ""
        try:
            from orq_ai_sdk import Orq

            sdk = Orq(api_key=key, server_url=url)

            def official() -> str:
                parts = []
                for event in sdk.deployments.stream(key="support-bot", invoke_options={"mock_response": text}):
                    data = getattr(event, "data", event)
                    for choice in getattr(data, "choices", None) or []:
                        content = getattr(choice.message, "content", None)
                        if content:
                            parts.append(content)
                return "".join(parts)

            functions["official"] = official
        except ImportError:
            sdk_note = "orq-ai-sdk not installed (pip install orq-ai-sdk to compare)"
        assert bare() == ours() == text, "the clients disagree on the answer"
        times = interleaved(functions, repeat)
    figures = [
        Figure("stream: bare httpx-sse loop", times["bare"] * 1000, "ms"),
        Figure("stream: orqmagic client + accumulator", times["orqmagic"] * 1000, "ms"),
        Figure("stream: orqmagic / bare", times["orqmagic"] / times["bare"], "ratio", target=1.15),
    ]
    if "official" in times:
        figures.append(Figure("stream: official orq-ai-sdk", times["official"] * 1000, "ms"))
        figures.append(Figure("stream: orqmagic / official SDK", times["orqmagic"] / times["official"], "ratio", target=1.0,
                              note="below 1 means faster"))
    else:
        figures.append(Figure("stream: official SDK comparison skipped", 0, "", note=sdk_note))
    return figures
