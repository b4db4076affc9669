"""10. Review queue: key press to the next case shown, on a 1,000-case queue, measured at the comm layer.

A real kernel holds ``orqmagic.review(...)`` over 1,000 answers (from a sandbox in its own
process). The benchmark sends what a browser sends for one keystroke (a state update of the
key box's model) and waits for the kernel's update of the position line that shows the next
case: in between the kernel reads the key, writes the score and its outbox record to the store
in one transaction, and redraws the case (input, answer, buttons). Feedback goes out in a
background thread, so it is not on this path.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from ._common import Figure, environment, sandbox_process

SETUP = """
import pandas as pd, orqmagic
cases = pd.DataFrame({"question": [f"question {i}" for i in range(1000)]})
results = orqmagic.invoke_many("support-bot", cases, prompt="Answer {{question}}", progress=False, concurrency=16)
queue = orqmagic.review(results, name="bench", metric={"name": "Helpfulness", "judgePrompt": "5 = solves it"})
queue
"""


def run(quick: bool) -> list[Figure]:
    from tests.widget_comm import KernelWidgets

    presses = 40 if quick else 200
    with sandbox_process() as (url, key), tempfile.TemporaryDirectory() as home, \
            environment(ORQ_BASE_URL=url, ORQ_API_KEY=key, ORQMAGIC_HOME=home), KernelWidgets() as kw:
        kw.execute(SETUP, timeout=600)
        keybox, header = kw.find("orqmagic-keybox"), kw.find("orqmagic-review-header")
        times = []
        for i in range(presses):
            expected = f"{i + 2} of 1000"

            def shown(msg, expected=expected) -> bool:
                content = msg["content"]
                return (msg["msg_type"] == "comm_msg" and content["comm_id"] == header
                        and expected in (content["data"].get("state") or {}).get("value", ""))

            started = time.perf_counter()
            kw.type_key(keybox, "12345"[i % 5])
            kw.wait_for(shown, timeout=30)
            times.append((time.perf_counter() - started) * 1000)
        scored = kw.execute("print(queue.wait_sent(60), queue.session.scored)").split()
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    note = f"{presses} presses, all kept ({scored[1]} scored)"
    return [Figure("review: key press to next case shown, median", statistics.median(times), "ms", 100, note=note),
            Figure("review: key press to next case shown, p90", p90, "ms", 100, note=note)]
