"""Tables and figures: Baseten metrics as pandas DataFrames, and matplotlib plots of metrics and batches.

Owns fetching metrics into tidy frames (:mod:`.fetch`, :mod:`.build`), units (:mod:`.units`),
plots and their panels (:mod:`.plot`, :mod:`.panels`, :mod:`.batch_plot`) and PNG output
(:mod:`.png`). Importing this imports pandas.

May import: errors, config, :mod:`orqmagic.clients`, :mod:`orqmagic.render` (numbers and theme).
Never the widgets or the magics, which stand on it.
"""

from .batch_plot import plot_batch
from .build import MetricsFormatError, build_frame, series_name, wide_metrics
from .fetch import fetch_metrics, parse_duration
from .plot import plot_metrics
from .png import figure_png

__all__ = ["MetricsFormatError", "build_frame", "fetch_metrics", "figure_png", "parse_duration", "plot_batch", "plot_metrics",
           "series_name", "wide_metrics"]
