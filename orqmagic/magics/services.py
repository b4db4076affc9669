"""The work behind ``%baseten_metrics`` and ``%%metric``: plain functions the magic methods delegate to.

Bad input raises :class:`UsageError` (one line, nothing sent); a failure of the
service raises :class:`~orqmagic.OrqMagicError`, which the magic shows its usual way.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ..errors import ValidationError
from . import cell as cells


def baseten_metrics(args: Any) -> Any:
    """Fetch the metrics a parsed ``%baseten_metrics`` line asks for, and draw them unless ``--no-plot``.

    Returns the tidy frame; the magic stores it with ``-o`` and otherwise shows
    :func:`~orqmagic.frames.overview.metrics_overview` (a few rows, not thousands).
    """
    from IPython.display import display

    from ..frames import fetch_metrics, plot_metrics

    if args.mode == "CURRENT" and (args.start or args.end):
        raise UsageError("CURRENT mode is a snapshot at now: leave --start and --end out")
    window = {} if args.mode == "CURRENT" else {"start": args.start or args.last, "end": args.end}
    try:
        frame = fetch_metrics(args.model_id, args.deployment_id, args.metrics, mode=args.mode, **window)
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    if not args.no_plot:
        display(plot_metrics(frame))
    return frame


def define_metric(cell: str, *, toml: bool, dry_run: bool) -> dict | None:
    """Validate a ``%%metric`` cell, show the request it makes, and create the metric unless ``dry_run``."""
    import json

    from IPython.display import display

    from ..clients.galtea import metric_body

    try:
        definition = cells.metric_definition(cell, toml=toml)
        name = definition.pop("name", None)
        body = metric_body(name, **definition)
    except (cells.CellSyntaxError, ValidationError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if definition.get("source") is None:
        raise UsageError("the definition needs a source: SELF_HOSTED, PARTIAL_PROMPT or HUMAN_EVALUATION")
    heading = "POST /metrics" + (" (dry run: nothing sent)" if dry_run else "")
    preview = json.dumps(body, indent=2)
    display({"text/markdown": f"**{heading}**\n\n```json\n{preview}\n```", "text/plain": f"{heading}\n{preview}"}, raw=True)
    if dry_run:
        return None
    from .. import api

    created = api.create_metric(name, **definition)
    done = f"created {created['id']} in family {created.get('metricGroupId')}"
    display({"text/markdown": f"✅ {done}", "text/plain": done}, raw=True)
    return created
