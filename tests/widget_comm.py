"""Drive ipywidgets in a real kernel at the comm layer, as a front end does: no browser, real messages.

A :class:`KernelWidgets` starts a kernel, runs code, keeps every widget model's
state from ``comm_open`` and ``update`` messages, and sends what a front end
sends: a state update (a keystroke in a Text) or a button click. Used by the
review queue's kernel tests and by its benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jupyter_client.manager import start_new_kernel

TARGET = "jupyter.widget"


class KernelWidgets:
    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3")
        self.models: dict[str, dict[str, Any]] = {}
        self.stdout: list[str] = []

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def __enter__(self) -> KernelWidgets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def _take(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == TARGET:
            self.models[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
            self.models.setdefault(content["comm_id"], {}).update(content["data"].get("state", {}))
        elif kind == "stream":
            self.stdout.append(content["text"])

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        """Read iopub until a message satisfies ``predicate``; return it (every message read updates the models)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            self._take(msg)
            if predicate(msg):
                return msg

    def execute(self, code: str, timeout: float = 120) -> str:
        """Run ``code``; return what it printed. An error in the cell fails with its traceback."""
        msg_id = self.kc.execute(code)
        start = len(self.stdout)
        errors: list[str] = []

        def done(msg: dict[str, Any]) -> bool:
            if msg["parent_header"].get("msg_id") != msg_id:
                return False
            if msg["msg_type"] == "error":
                errors.append("\n".join(msg["content"]["traceback"]))
            return msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"

        self.wait_for(done, timeout)
        assert not errors, errors[0]
        return "".join(self.stdout[start:])

    def find(self, css_class: str) -> str:
        """The comm id of the (last opened) widget with ``css_class`` among its DOM classes."""
        found = [cid for cid, state in self.models.items() if css_class in (state.get("_dom_classes") or [])]
        assert found, f"no widget with class {css_class!r}"
        return found[-1]

    def state(self, comm_id: str) -> dict[str, Any]:
        return self.models[comm_id]

    # -- sending (as a front end) -----------------------------------------------------------------

    def _send(self, comm_id: str, data: dict[str, Any]) -> str:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def update(self, comm_id: str, **state: Any) -> str:
        """A front end's state change (a keystroke in a Text sends its whole value)."""
        self.models[comm_id].update(state)
        return self._send(comm_id, {"method": "update", "state": state, "buffer_paths": []})

    def click(self, comm_id: str) -> str:
        return self._send(comm_id, {"method": "custom", "content": {"event": "click"}})

    def type_key(self, keybox: str, char: str) -> str:
        """One keystroke into a focused Text: its value with ``char`` appended."""
        return self.update(keybox, value=self.models[keybox].get("value", "") + char)
