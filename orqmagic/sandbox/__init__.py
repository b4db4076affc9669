"""The offline sandbox: orq.ai, Baseten and Galtea on 127.0.0.1, with fault injection.

``python -m orqmagic.sandbox --port 8765`` runs it as a program; ``Sandbox()``
runs it in a background thread. Starlette and uvicorn are imported only when a
sandbox starts. Owns the app (:mod:`.app`), the HTTP helpers its routes share (:mod:`.http`),
one module per service (:mod:`.orq`, :mod:`.baseten`, :mod:`.galtea`), the demo answers
(:mod:`.answers`), request checks (:mod:`.schema`), faults and state.

May import: nothing of orqmagic outside this package. It stands in for the real services, so it
must not share code (or bugs) with the clients that talk to it.
"""

from .faults import Faults, FaultSpecError
from .server import Sandbox, fetch_received, shared_sandbox

__all__ = ["FaultSpecError", "Faults", "Sandbox", "fetch_received", "shared_sandbox"]
