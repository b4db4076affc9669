"""The offline sandbox: orq.ai, Baseten and Galtea on 127.0.0.1, with fault injection.

``python -m orqmagic.sandbox --port 8765`` runs it as a program; ``Sandbox()``
runs it in a background thread. Starlette and uvicorn are imported only when a
sandbox starts.
"""

from .faults import Faults, FaultSpecError
from .server import Sandbox, fetch_received, shared_sandbox

__all__ = ["FaultSpecError", "Faults", "Sandbox", "fetch_received", "shared_sandbox"]
