"""Baseten metrics as pandas DataFrames and matplotlib figures. Importing this imports pandas."""

from .batch_plot import plot_batch
from .build import MetricsFormatError, build_frame, series_name, wide_metrics
from .fetch import fetch_metrics, parse_duration
from .plot import plot_metrics
from .png import figure_png

__all__ = ["MetricsFormatError", "build_frame", "fetch_metrics", "figure_png", "parse_duration", "plot_batch", "plot_metrics",
           "series_name", "wide_metrics"]
