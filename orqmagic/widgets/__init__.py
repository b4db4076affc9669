"""ipywidgets panels. Importing this imports ipywidgets (and the frames, pandas)."""

from .feedback import FeedbackPanel
from .metric_form import MetricForm
from .metrics_panel import MetricsPanel

__all__ = ["FeedbackPanel", "MetricForm", "MetricsPanel"]
