"""The magic class. It parses arguments and delegates; the work is in plain functions elsewhere."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments
from traitlets import Bool, CaselessStrEnum, Float, Int, Unicode

from ..errors import OrqMagicError, StreamInterrupted, ValidationError
from . import cell as cells
from . import services
from .errors import CellError, CellInterrupted
from .parse import parse_line, strip_comment


@magics_class
class OrqMagic(Magics):
    """Call orq.ai deployments from cells. Defaults are settable with ``%config OrqMagic.<name> = ...``."""

    deployment = Unicode("", help="Deployment key used when %%invoke names none.").tag(config=True)
    format = CaselessStrEnum(["markdown", "text", "json"], default_value="markdown",
                             help="How answers are shown: markdown, text or json.").tag(config=True)
    stream = Bool(True, help="Stream answers live (False: one /invoke call).").tag(config=True)
    throttle = Float(0.1, help="Least seconds between live display updates.").tag(config=True)
    timeout = Float(300.0, help="Seconds a stream may stay silent before it is abandoned.").tag(config=True)
    interpolate = Bool(False, help="Replace {{name}} in cells by notebook variables.").tag(config=True)
    footer = Bool(True, help="Show the one-line footer under answers.").tag(config=True)
    feedback = Bool(False, help="Show the feedback bar under every answer.").tag(config=True)
    show_traceback = Bool(False, help="Show full tracebacks instead of one-line errors.").tag(config=True)
    concurrency = Int(8, help="Parallel calls of %%invoke --over.").tag(config=True)
    cache = Bool(False, help="Replay identical earlier answers from the local response cache.").tag(config=True)
    cache_max_mb = Float(None, allow_none=True,
                         help="Size cap of the response cache in MB (default: $ORQMAGIC_CACHE_MAX_MB or 256).").tag(config=True)
    cache_max_age_days = Float(None, allow_none=True,
                               help="Cached answers older than this are not used (default: 30).").tag(config=True)
    judge_deployment = Unicode("", help="Judge deployment of --judge / --pairwise (default: the sandbox's "
                                        "judge-bot).").tag(config=True)

    # -- %%invoke ---------------------------------------------------------------------

    # the usage line as the README writes it, KEY first (argparse would put the positional last); "%%" is
    # argparse's escape for "%", and IPython adds one more "%" in front: this reads "%%invoke KEY ..."
    @magic_arguments()
    @kwds(usage="%%invoke KEY [KEY ...] [options]   (the line form: %%invoke KEY [options] has no cell)")
    @argument("keys", nargs="*", metavar="KEY", help="Deployment key (default: %%config OrqMagic.deployment). Put it first; "
              "two or more keys compare their answers side by side.")
    @argument("-o", "--out", metavar="VAR", help="Store the InvokeResult (or the batch DataFrame) in VAR.")
    @argument("--inputs", nargs="+", metavar="K=V", help="Prompt variables: key=value pairs (a value naming a variable takes its value) or one dict variable.")
    @argument("--context", nargs="+", metavar="K=V", help="Routing context: key=value pairs or a dict variable.")
    @argument("--metadata", nargs="+", metavar="K=V", help="Metadata for the log: key=value pairs or a dict variable.")
    @argument("--extra-params", nargs="+", metavar="K=V", help="Extra provider parameters: a dict variable or JSON.")
    @argument("--identity", metavar="ID", help="Identity id, or a dict variable with an 'id'.")
    @argument("--thread", metavar="ID", help="Thread id, or a dict variable with 'id' and 'tags'.")
    @argument("--documents", metavar="VAR", help="List of {'text', 'metadata'} documents (variable or JSON).")
    @argument("--file-ids", metavar="IDS", help="Comma-separated file ids, or a list variable.")
    @argument("--prefix-messages", metavar="VAR", help="Messages inserted after the deployment's system message.")
    @argument("--messages", metavar="VAR", help="Send this message list instead of the cell.")
    @argument("--knowledge-filter", metavar="VAR", help="Knowledge-base filter (variable or JSON).")
    @argument("--system", metavar="TEXT", help="A system message sent before the cell.")
    @argument("--mock", metavar="TEXT", help="invoke_options.mock_response: the answer to return without calling a model.")
    @argument("--retrievals", action="store_true", help="Ask for the retrieved knowledge chunks.")
    @argument("--chat", action="store_true", help="Read the cell as turns: lines 'system:', 'user:', 'assistant:' start each turn.")
    @argument("--interpolate", action="store_true", default=None, help="Replace {{name}} in the cell by notebook variables.")
    @argument("--no-stream", action="store_true", help="One /invoke call instead of a live stream.")
    @argument("--format", choices=["markdown", "text", "json"], help="How the answer is shown.")
    @argument("--feedback", action="store_true", default=None, help="Show a feedback bar under the answer.")
    @argument("--over", metavar="DF", help="Run the cell as a {{column}} template over every row of DataFrame DF.")
    @argument("--concurrency", type=int, metavar="N", help="Parallel calls with --over or a comparison.")
    @argument("--variants", metavar="VAR", help="Compare variants side by side: a dict variable, label -> request fields.")
    @argument("--cache", action="store_true", default=None, help="Replay an identical earlier answer from the local cache.")
    @argument("--run", metavar="NAME", help="With --over: record rows under NAME and resume it when run again.")
    @argument("--retry-failed", nargs="?", const=True, metavar="all",
              help="With --run: send the rows that failed for a passing reason again (--retry-failed all: every failed row).")
    @argument("--overwrite", action="store_true", help="With --run: start the run NAME afresh.")
    @argument("--wait", action="store_true", help="With --run: if another process is running NAME, wait for it, then resume.")
    @argument("--trials", type=int, metavar="N", help="With --over: send every row N times.")
    @argument("--judge", metavar="METRIC", help="With --over: score every answer with METRIC (a variable holding a "
              "Metric or a Galtea definition, or a metric name on Galtea); two keys are compared on the scores.")
    @argument("--pairwise", metavar="CRITERIA", help="With two keys and --over: judge each case's two answers "
              "against each other in both orders, by CRITERIA (quoted text, or a variable).")
    @argument("--judge-deployment", metavar="KEY", help="The judge deployment (default: %%config "
              "OrqMagic.judge_deployment, else the sandbox's judge-bot).")
    @line_cell_magic
    def invoke(self, line: str, cell: str | None = None) -> None:
        """Send the cell to an orq.ai deployment and stream the answer into the notebook.

        As a line magic (``%invoke KEY --inputs ...``) there is no prompt text:
        use it with ``--inputs``, ``--messages`` or ``--mock``.

        Examples::

            %%invoke support-bot -o answer
            How do I rotate my API key?

            %invoke summarizer --inputs text=report -o summary

            %%invoke support-bot --inputs customer=name tier=gold --chat --interpolate
            system:
            You are terse.
            user:
            Hello {{name}}!
        """
        args = parse_line(self.invoke, line)
        cell = cell or ""
        if args.judge is not None or args.pairwise is not None:
            return self._invoke_judged(args, cell)
        if args.judge_deployment:
            raise UsageError("--judge-deployment goes with --judge or --pairwise")
        if len(args.keys) > 1 or args.variants:
            return self._invoke_compare(args, cell)
        key = args.keys[0] if args.keys else self.deployment
        if not key:
            raise UsageError("name a deployment: %%invoke KEY (or set %config OrqMagic.deployment = 'KEY')")
        if args.over:
            return self._invoke_over(key, args, cell)
        if args.run or args.trials is not None or args.retry_failed or args.overwrite or args.wait:
            raise UsageError("--run, --trials, --retry-failed, --overwrite and --wait go with --over DF")
        try:
            request = cells.request_fields(args, cell, self.shell.user_ns, interpolate_default=self.interpolate)
        except (cells.CellSyntaxError, ValidationError) as exc:
            raise UsageError(str(exc)) from None
        from .. import api  # here, not at module level: %load_ext stays free of httpx and the client stack

        before = api.last_result()
        try:
            result = api.invoke(
                key, stream=self.stream and not args.no_stream, fmt=args.format or self.format,
                throttle=self.throttle, footer=self.footer, timeout=self.timeout, **self._cache_options(args), **request,
            )
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:
            raise self._interrupted(self._keep_interrupted(before, args.out), args.out) from None
        except StreamInterrupted as exc:
            self._store(args.out, exc.partial)
            self._fail(exc)
        except OrqMagicError as exc:
            self._fail(exc)
        self._store(args.out, result)
        if args.feedback or (args.feedback is None and self.feedback):
            self._feedback_bar(result)

    def _invoke_compare(self, args: Any, cell: str) -> None:
        """Several keys or ``--variants``: the same cell and options for every column, side by side."""
        from ..evaluation.comparison import compare

        keys = args.keys or ([self.deployment] if self.deployment else [])
        if not keys:
            raise UsageError("name a deployment for the variants: %%invoke KEY --variants VAR")
        if args.over:
            raise UsageError("--over runs one deployment over many rows; compare deployments without it")
        if args.run or args.trials is not None or args.retry_failed or args.overwrite or args.wait:
            raise UsageError("--run, --trials, --retry-failed, --overwrite and --wait go with --over DF, not with a comparison")
        variants = None
        try:
            if args.variants:
                variants = cells.literal_or_variable(args.variants, self.shell.user_ns, option="--variants")
            request = cells.request_fields(args, cell, self.shell.user_ns, interpolate_default=self.interpolate)
        except (cells.CellSyntaxError, ValidationError) as exc:
            raise UsageError(str(exc)) from None
        if args.concurrency is not None and args.concurrency < 1:
            raise UsageError("--concurrency must be 1 or more")
        try:
            comparison = compare(
                keys, variants=variants, stream=self.stream and not args.no_stream, fmt=args.format or self.format,
                throttle=self.throttle, footer=self.footer, timeout=self.timeout,
                concurrency=args.concurrency or self.concurrency, **self._cache_options(args), **request,
            )
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
        self._store(args.out, comparison)
        if comparison.interrupted:
            where = f" in {args.out}" if args.out else ""
            raise CellInterrupted(f"interrupted: every stream stopped, partial answers kept{where}")
        if all(r.error for r in comparison.results.values()):
            self._fail(OrqMagicError(f"every column failed; first: {next(iter(comparison.results.values())).error}"))
        if args.feedback or (args.feedback is None and self.feedback):
            from IPython.display import display

            from ..widgets.prefer import PreferBar

            display(PreferBar(comparison))

    def _invoke_over(self, key: str, args: Any, cell: str) -> None:
        from ..evaluation.batch import invoke_many

        frame = self.shell.user_ns.get(args.over)
        if frame is None:
            raise UsageError(f"--over: no variable named {args.over!r} in the notebook")
        if args.retry_failed not in (None, True, "all"):
            raise UsageError(f"--retry-failed takes nothing or 'all', got {args.retry_failed!r}")
        from .. import api

        before = api.last_result()
        try:
            results = invoke_many(key, frame, prompt=cell.strip() or None, concurrency=self.concurrency if args.concurrency is None else args.concurrency,
                                  mock_response=args.mock, system=args.system, run=args.run,
                                  trials=1 if args.trials is None else args.trials,
                                  retry_failed=args.retry_failed or False, overwrite=args.overwrite, wait=args.wait,
                                  **self._cache_options(args))
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:
            raise self._batch_interrupted(self._keep_interrupted(before, args.out), args.out) from None
        except OrqMagicError as exc:
            self._fail(exc)
        self._store(args.out, results)
        if not args.out:
            from IPython.display import display

            display(results.astype(object).where(results.notna(), "—"))  # missing values as a dash, not None/NaN

    def _invoke_judged(self, args: Any, cell: str) -> None:
        """``--over DF`` with ``--judge METRIC`` or ``--pairwise CRITERIA``: run, judge, show the table and sentence."""
        from ..evaluation.dataset_judge import judge_over

        keys = args.keys or ([self.deployment] if self.deployment else [])
        if not keys:
            raise UsageError("name the deployments: %%invoke A B --over DF --pairwise 'CRITERIA'")
        if args.judge is not None and args.pairwise is not None:
            raise UsageError("--judge and --pairwise are two ways to judge: pick one")
        if not args.over:
            raise UsageError("--judge and --pairwise judge a run over cases: add --over DF "
                             "(for one prompt, use comparison.judge(...))")
        if args.variants or args.trials or args.retry_failed or args.overwrite:
            raise UsageError("--variants, --trials, --retry-failed and --overwrite do not go with --judge / --pairwise")
        frame = self.shell.user_ns.get(args.over)
        if frame is None:
            raise UsageError(f"--over: no variable named {args.over!r} in the notebook")
        ns = self.shell.user_ns
        metric = criteria = None
        if args.judge is not None:
            metric = ns[args.judge] if args.judge.isidentifier() and args.judge in ns else args.judge
        else:
            criteria = ns[args.pairwise] if args.pairwise.isidentifier() and args.pairwise in ns else args.pairwise
        concurrency = self.concurrency if args.concurrency is None else args.concurrency
        try:
            outcome = judge_over(keys, frame, prompt=cell.strip() or None, metric=metric, criteria=criteria,
                                 judge=args.judge_deployment or self.judge_deployment or None, run=args.run,
                                 concurrency=concurrency, cache=self._cache_options(args)["cache"],
                                 mock_response=args.mock, system=args.system)
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
        except OrqMagicError as exc:
            self._fail(exc)
        self._store(args.out, outcome)
        from IPython.display import display

        display(outcome)

    def _cache_options(self, args: Any) -> dict[str, Any]:
        return {"cache": args.cache or (args.cache is None and self.cache), "cache_max_mb": self.cache_max_mb,
                "cache_max_age_days": self.cache_max_age_days}

    def _store(self, name: str | None, value: Any) -> None:
        if value is None:
            return
        self.shell.user_ns["_"] = value
        if name:
            if not name.isidentifier():
                raise UsageError(f"-o needs a variable name, got {name!r}")
            self.shell.user_ns[name] = value

    def _keep_interrupted(self, before: Any, out: str | None) -> Any:
        """What Ctrl-C left: the newest result if the interrupted call made one (else None), kept under ``-o``."""
        from .. import api

        partial = api.last_result()
        partial = partial if partial is not before else None
        self._store(out, partial)
        return partial

    @staticmethod
    def _interrupted(partial: Any, out: str | None) -> CellInterrupted:
        if partial is None or not partial.text:
            return CellInterrupted("interrupted before any answer arrived")
        where = f"kept in {out}" if out else "kept in _"
        return CellInterrupted(f"interrupted: partial answer ({len(partial.text):,} characters) {where}")

    @staticmethod
    def _batch_interrupted(partial: Any, out: str | None) -> CellInterrupted:
        """One line, as for a single ``%%invoke``: how many rows finished and where they are kept."""
        if partial is None or not hasattr(partial, "attrs"):
            return CellInterrupted("interrupted before any row finished")
        total = partial.attrs.get("rows", 0) * partial.attrs.get("trials", 1)
        where = f"kept in {out}" if out else "kept in _"
        run = partial.attrs.get("run")
        recorded = f", recorded in run {run!r}" if run else ""
        return CellInterrupted(f"interrupted: {len(partial):,} of {total:,} rows finished, {where}{recorded}")

    def _fail(self, exc: Exception) -> None:
        if self.show_traceback:
            raise exc
        raise CellError(str(exc)) from None

    def _feedback_bar(self, result: Any) -> None:
        if not result.id:
            return
        from IPython.display import display

        from ..widgets import FeedbackPanel

        display(FeedbackPanel(result, compact=True))

    # -- %baseten_metrics ----------------------------------------------------------------

    @magic_arguments()
    @argument("model_id", help="Baseten model id")
    @argument("deployment_id", help="Baseten deployment id")
    @argument("--last", default="24h", metavar="DURATION", help="Window ending now: 1h, 24h, 7d, 10d, ... (default 24h)")
    @argument("--start", metavar="TIME", help="Window start (ISO time, epoch ms, or a duration ago); overrides --last")
    @argument("--end", metavar="TIME", help="Window end (default: now)")
    @argument("--mode", choices=["SERIES", "SUMMARY", "CURRENT"], default="SERIES", type=str.upper)
    @argument("--metrics", nargs="+", metavar="NAME", help="Metric names (default: the API's default set)")
    @argument("--no-plot", action="store_true", help="Only fetch; do not draw")
    @argument("-o", "--out", metavar="VAR", help="Store the tidy DataFrame in VAR (the plot is still shown)")
    @line_magic
    def baseten_metrics(self, line: str) -> Any:
        """Fetch Baseten deployment metrics into a tidy DataFrame and plot them.

        Without ``-o`` the cell shows the plot and an overview, one row per metric and series (unit,
        last, mean, min, max, a counter's total); with ``-o VAR`` the full tidy frame goes into VAR and
        the plot is shown.

        Example::

            %baseten_metrics llama-chat prod-v3 --last 24h -o df
        """
        args = parse_line(self.baseten_metrics, line)
        try:
            frame = services.baseten_metrics(args)
        except OrqMagicError as exc:
            self._fail(exc)
        if args.out:
            self._store(args.out, frame)
            return None
        from ..frames.overview import metrics_overview

        return metrics_overview(frame)

    # -- %%metric -------------------------------------------------------------------------

    @magic_arguments()
    @kwds(usage="%%metric [--dry-run] [--toml] [-o VAR]   (a cell magic: the YAML or TOML definition is the cell)")
    @argument("--dry-run", action="store_true", help="Validate and preview only; send nothing")
    @argument("--toml", action="store_true", help="The cell is TOML instead of YAML")
    @argument("-o", "--out", metavar="VAR", help="Store the created metric (a dict) in VAR")
    @cell_magic
    def metric(self, line: str, cell: str) -> None:
        """Define a Galtea evaluation metric from a YAML (or TOML) cell: validated, shown, then created.

        Example::

            %%metric -o faithfulness
            name: Faithfulness
            source: PARTIAL_PROMPT
            evaluation_params: [input, actualOutput, retrievalContext]
            judge_prompt: Does the answer only use the retrieved context?
        """
        args = parse_line(self.metric, line)
        try:
            created = services.define_metric(cell, toml=args.toml, dry_run=args.dry_run)
        except OrqMagicError as exc:
            self._fail(exc)
        self._store(args.out, created)

    # -- %orq ------------------------------------------------------------------------

    @line_magic
    def orq(self, line: str) -> Any:
        """Session commands.

        ``%orq sandbox``       point every service at the local sandbox (answers are simulated)
        ``%orq remote``        back to keys and the environment
        ``%orq status``        where each service goes and where its key comes from (never the key)
        ``%orq login SERVICE`` enter a key for orq, baseten or galtea (hidden prompt)
        ``%orq deployments``   the orq deployments as a DataFrame
        ``%orq outbox``        feedback waiting to be sent
        ``%orq flush``         send waiting feedback now
        ``%orq store``         where the local store lives and what it holds
        ``%orq cache``         response-cache entries and size; ``%orq cache clear [KEY]`` empties it
        ``%orq runs``          stored batch runs (``invoke_many(..., run="NAME")``)
        """
        from . import session

        words = strip_comment(line).split()
        command, rest = (words[0], words[1:]) if words else ("status", [])
        handler = getattr(session, f"cmd_{command}", None)
        if handler is None:
            raise UsageError(f"unknown %orq command {command!r}; try: {', '.join(session.COMMANDS)}")
        extra = {"max_mb": self.cache_max_mb, "max_age_days": self.cache_max_age_days} if command == "cache" else {}
        try:
            return handler(*rest, **extra)
        except TypeError:
            raise UsageError(f"%orq {command}: wrong arguments (see %orq?)") from None
        except ValidationError as exc:
            raise UsageError(str(exc)) from None
        except OrqMagicError as exc:
            self._fail(exc)
