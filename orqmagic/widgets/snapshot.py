"""What a saved notebook keeps of a widget: a static output beside the live view, updated when the widget settles.

A widget's own output is a reference to a model that lives in the kernel. Without
that kernel (a notebook reopened later, nbconvert's HTML, GitHub, nbviewer) it shows
a repr or JupyterLab's "Error displaying widget: model not found". So every widget
here is displayed as two outputs:

1. the widget view (no ``text/plain`` repr: nbconvert and GitHub would show it);
2. a static output, ``text/html`` + ``text/plain`` (+ a small PNG where a plot is
   the point), published with a display id and replaced by :meth:`SavedOutput.settled`
   whenever the widget settles (score sent, panel refreshed, metric created), so the
   saved notebook describes the widget as it was last seen.

While the widget is on screen, a style inside the widget hides the static output
(it would repeat what the widget shows). Where the widget cannot render, that style
is absent and the static output shows; its own style hides JupyterLab's
"model not found" line just above it.

Reusing it: mix :class:`SavedOutput` in before the ipywidgets base class and
implement ``summary()`` (one line of text) and ``static_html()`` (an HTML fragment,
escaped), optionally ``static_png()``; call ``self.settled()`` after each change
worth keeping. For an output that is not a widget (a progress bar drawn by tqdm),
:class:`StaticDisplay` is the same static half on its own: ``show()`` once,
``update()`` when it settles.
"""

from __future__ import annotations

import base64
import html
import io
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

SNAPSHOT_WIDTH = 640  # pixels of the saved-notebook snapshot: its 9 pt text still readable
SAVED_CLASS = "orqmagic-saved"
BOX_STYLE = ("border-left:3px solid var(--jp-border-color1,rgba(128,128,128,.55));padding:2px 0 2px 10px;"
             "margin:2px 0;line-height:1.45")
# In JupyterLab and Notebook 7, a widget output whose model is gone gets the class jupyter-widgets on the output
# node itself (a live one puts it only on the view inside) and the text "Error displaying widget: model not found".
# When the next output is one of ours, it speaks for that widget: hide the line. (nbconvert's widget outputs carry
# an id: left alone.) CSS cannot nest :has(), so the class is what tells the two apart.
HIDE_MISSING_WIDGET = (f"<style>.jp-OutputArea-child:has(+ .jp-OutputArea-child .{SAVED_CLASS})"
                       ":has(> .jp-OutputArea-output.jupyter-widgets:not([id])){display:none}</style>")


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


def static_bundle(key: str, summary: str, body: str, png: bytes | None = None) -> dict[str, Any]:
    """The MIME bundle of a static output: ``body`` (HTML) under a class named ``key``, the summary as text."""
    image = ""
    if png:
        encoded = base64.b64encode(png).decode()
        image = (f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(summary)}" '
                 f'style="max-width:100%;height:auto;display:block;margin-top:4px">')
    markup = (f'{HIDE_MISSING_WIDGET}<div class="{SAVED_CLASS} {key}" style="{BOX_STYLE}">'
              f"{body}{image}</div>")
    bundle: dict[str, Any] = {"text/html": markup, "text/plain": summary}
    if png:
        bundle["image/png"] = base64.b64encode(png).decode()
    return bundle


def hide_while_live(key: str) -> str:
    """The style a live widget carries: its static output (class ``key``) stays out of sight while it shows."""
    return f"<style>.jp-OutputArea-child:has(.{key}) {{display:none}} .{key} {{display:none}}</style>"


class StaticDisplay:
    """The static half on its own: one display with an id, replaced on every ``update``.

    ``key`` names the static output (a CSS class) so a live view can hide it with :func:`hide_while_live`.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._handles: list[Any] = []
        self._lock = threading.Lock()

    def show(self, summary: str, body: str, png: bytes | None = None) -> None:
        from IPython.display import display

        handle = display(static_bundle(self.key, summary, body, png), raw=True, display_id=True)
        with self._lock:
            self._handles.append(handle)

    def update(self, summary: str, body: str, png: bytes | None = None) -> None:
        with self._lock:
            handles = list(self._handles)
        if handles:
            bundle = static_bundle(self.key, summary, body, png)
            for handle in handles:
                handle.update(bundle, raw=True)

    @property
    def shown(self) -> bool:
        return bool(self._handles)


class SavedOutput:
    """Mixin, ahead of the ipywidgets base class: the widget is displayed with a static output that follows it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._static = StaticDisplay(f"{SAVED_CLASS}-{self.model_id}")  # type: ignore[attr-defined]
        from ipywidgets import HTML, Layout

        self.children = (*self.children, HTML(hide_while_live(self._static.key),  # type: ignore[has-type]
                                              layout=Layout(display="none")))

    def summary(self) -> str:  # pragma: no cover - overridden
        """One line: what the widget shows now (the static output's text/plain)."""
        raise NotImplementedError

    def static_html(self) -> str:
        """The static output's HTML: by default the summary."""
        return f"<span>{html.escape(self.summary())}</span>"

    def static_png(self) -> bytes | None:
        """A small picture where a plot is the point; None otherwise."""
        return None

    def saved_bundle(self) -> dict[str, Any]:
        """The static output as it would be saved now."""
        return static_bundle(self._static.key, self.summary(), self.static_html(), self.static_png())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle.pop("text/plain", None)  # a repr of the children says nothing; the static output speaks for it
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        self._static.show(self.summary(), self.static_html(), self.static_png())

    def settled(self) -> None:
        """The widget reached a state worth keeping: every static output of it now describes this state."""
        if self._static.shown:
            self._static.update(self.summary(), self.static_html(), self.static_png())
