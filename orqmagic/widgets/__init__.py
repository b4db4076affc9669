"""ipywidgets panels: MetricsPanel, FeedbackPanel, MetricForm, PreferBar and their saved snapshots.

Owns the interactive controls and what they leave in a saved notebook (:mod:`.snapshot`).
Importing this imports ipywidgets (and, through the frames, pandas), so nothing below imports it.

May import: everything below it (api, frames, evaluation, result, render, store, clients, config).
Only the magics and the package's lazy top level import widgets.
"""

from .feedback import FeedbackPanel
from .metric_form import MetricForm
from .metrics_panel import MetricsPanel

__all__ = ["FeedbackPanel", "MetricForm", "MetricsPanel"]
