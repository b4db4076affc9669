"""Figures to PNG bytes, fast: one Agg draw, one palette quantisation, one quick PNG encode.

``savefig(format="png")`` would encode a full-colour PNG only for us to decode it again to
quantise it; drawing to a raw RGBA buffer skips that round trip. A palette image compresses
well even at zlib level 1, so the bytes stay small while the encode takes a few milliseconds.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from PIL.Image import Image

DPI = 80
COMPRESS_LEVEL = 1  # zlib level for palette PNGs: level 6 (PIL's default) costs ~5x the time for ~10 % fewer bytes


def attach_canvas(fig: Figure, dpi: int = DPI) -> None:
    """Give a transparent figure its own Agg canvas at ``dpi``, kept across draws.

    ``savefig`` makes a new canvas and renderer for every call, so matplotlib's text-metrics
    cache (keyed by renderer) starts empty each time; a figure redrawn on every refresh keeps
    its renderer and only re-measures text that changed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    FigureCanvasAgg(fig)


def figure_image(fig: Figure, dpi: int = DPI) -> Image:
    """The figure drawn by Agg as an RGBA image with a transparent background."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image as PILImage

    canvas = fig.canvas
    if isinstance(canvas, FigureCanvasAgg) and fig.dpi == dpi and fig.get_facecolor()[3] == 0:
        layers = getattr(fig, "_orqmagic_layers", None)
        if layers is None:
            canvas.draw()
        else:
            _draw_changing(fig, canvas, *layers())
        renderer = canvas.get_renderer()
        size = (int(renderer.width), int(renderer.height))
        return PILImage.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1).copy()  # the next draw reuses the buffer
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=dpi, transparent=True)
    raw = buffer.getvalue()
    width, height = (int(v) for v in fig.get_size_inches() * dpi)  # what the Agg renderer sizes its canvas to
    if width * height * 4 != len(raw):  # pragma: no cover - a rounding difference: let PNG carry the size
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, transparent=True, pil_kwargs={"compress_level": 0})
        buffer.seek(0)
        return PILImage.open(buffer).convert("RGBA")
    return PILImage.frombuffer("RGBA", (width, height), raw, "raw", "RGBA", 0, 1)


def _draw_changing(fig: Figure, canvas: Any, changing: list[Artist], signature: object) -> None:
    """Draw only the artists that change between refreshes over a cached picture of the rest.

    Titles, legends, spines and "no data" notes of a reused figure stay the same from one
    refresh to the next, and drawing text is most of Agg's time; they are drawn once (with the
    changing artists hidden), kept as a background, and restored before the data, axes and
    heading are drawn over them, in the z-order a full draw would use. ``signature`` describes
    the unchanging part: when it differs from the background's, the background is drawn again.
    """
    cached = getattr(fig, "_orqmagic_background", None)
    renderer = canvas.get_renderer()
    if cached is None or cached[0] != signature or cached[1] is not renderer:
        for artist in changing:
            artist.set_animated(True)  # left out of a normal draw
        try:
            canvas.draw()
        finally:
            for artist in changing:
                artist.set_animated(False)
        renderer = canvas.get_renderer()
        cached = (signature, renderer, canvas.copy_from_bbox(fig.bbox))
        fig._orqmagic_background = cached  # type: ignore[attr-defined]
    canvas.restore_region(cached[2])
    for ax in {artist.axes for artist in changing if artist.axes is not None}:
        ax.viewLim  # noqa: B018 - settles pending autoscaling, as Axes.draw does first
    for artist in sorted(changing, key=lambda a: a.get_zorder()):  # stable: equal z-orders keep their order
        artist.draw(renderer)
    fig.stale = False


def image_png(image: Image, *, colors: int | None = 128) -> bytes:
    """PNG bytes of an RGBA image; ``colors`` quantises to a palette (a third of the bytes of full colour)."""
    from PIL import Image as PILImage

    if colors:
        image = image.quantize(colors=colors, method=PILImage.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="png", compress_level=COMPRESS_LEVEL)
    return out.getvalue()


def figure_png(fig: Figure, dpi: int = DPI, *, colors: int | None = 128) -> bytes:
    """PNG bytes with a transparent background; ``colors`` quantises to a palette (a third of the bytes)."""
    return image_png(figure_image(fig, dpi), colors=colors)


def ensure_figure_display() -> None:
    """Show Figures in IPython even when no pyplot backend registered a formatter (we avoid pyplot)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    if Figure not in formatter.type_printers:
        formatter.for_type(Figure, lambda fig: figure_png(fig))
