"""What a saved notebook keeps of a widget: a small snapshot and a one-line summary beside the live view.

Front ends that render widgets pick the widget view; GitHub, nbviewer and a
notebook opened without its kernel fall back to the PNG and text. The bundle is
published with a display id and updated after every refresh, so the saved
output always describes the last plot. Kept small: a palette PNG a few hundred
pixels wide, tens of KB.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

SNAPSHOT_WIDTH = 480  # pixels of the saved-notebook snapshot


def snapshot_png(png: bytes | PILImage, width: int = SNAPSHOT_WIDTH) -> bytes:
    """A small palette PNG of the plot (PNG bytes, or the RGBA image they were made from, which spares a
    decode) for the saved notebook: readable, a few tens of KB."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)) if isinstance(png, bytes | bytearray) else png
    if image.width > width:
        image = image.convert("RGBA").resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    if image.mode != "P":
        image = image.convert("RGBA").quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


class SavedSnapshot:
    """Mixin for a widget with ``snapshot`` (PNG bytes or None) and ``summary()``; call ``_publish()`` after a change."""

    snapshot: bytes | None = None
    _handles: list[Any]

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self.summary()
        if self.snapshot:
            bundle["image/png"] = base64.b64encode(self.snapshot).decode()
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._handles.append(display(self._repr_mimebundle_(), raw=True, display_id=True))

    def _publish(self) -> None:
        """Refresh the snapshot and summary saved with every place the widget is shown."""
        if self._handles:
            bundle = self._repr_mimebundle_()
            for handle in self._handles:
                handle.update(bundle, raw=True)
