"""A review queue without its widget: cases, position, scores kept in the store, feedback through the outbox.

Everything the widget does goes through :meth:`ReviewSession.record` and the
navigation methods here, so scripts and tests use exactly the path the keys
and buttons use. The store is the truth: a session starts from what is stored
under its name, so a restarted kernel or a second notebook resumes where the
queue stood.
"""

from __future__ import annotations

import getpass
import html
import json
import math
import queue as _queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clients.redaction import redact_known
from ..errors import ValidationError
from ..store import Store, default_store
from ..store import reviews as review_store
from .scales import Rubric, Scale, make_scale, rubric_of

if TYPE_CHECKING:
    import pandas as pd

    from ..store.outbox import Outbox

SKIP = object()  # record(case, SKIP): looked at, no score (next unscored passes it; scoring it later replaces it)
JUDGE_COLUMNS = ("score", "reason", "judge_error")
ANSWER_COLUMNS = ("text", "id", "model", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
                  "finish_reason", "error", "trial", "cached", "deployment", "label", "trace_id")
EXPECTED_COLUMNS = ("expected", "expected_output", "expectedOutput", "reference")


def case_labels(results: pd.DataFrame) -> list[Any]:
    """One label per row: the index label, with the trial when a row was run in several trials."""
    labels: list[Any] = list(results.index)
    if "trial" in results and results.index.has_duplicates:
        labels = [(label, int(trial)) for label, trial in zip(labels, results["trial"], strict=True)]
    for label in labels:
        if not _storable(label):
            shown = repr(label) if len(repr(label)) <= 60 else repr(label)[:57] + "..."
            raise ValidationError(f"case label {shown} cannot be kept in the store (labels are strings, finite numbers "
                                  "or tuples of them); reset_index() numbers the cases", field="results")
    if len(set(map(review_store.case_key, labels))) != len(labels):
        raise ValidationError("every case needs its own index label (this frame repeats some); "
                              "reset_index() or set a unique index", field="results")
    return [review_store.plain(label) if not isinstance(label, tuple) else tuple(review_store.plain(label))
            for label in labels]


def _storable(label: Any) -> bool:
    """A label the store can key a case by: JSON without NaN or infinities, text without lone surrogates."""
    try:
        json.dumps(review_store.plain(label), allow_nan=False)
        review_store.case_key(label).encode("utf-8")
    except (TypeError, ValueError):  # a Timestamp, bytes, NaN, inf, '\ud800' (UnicodeEncodeError is a ValueError)
        return False
    return True


def _text(text: str) -> str:
    """Text as the store and JSON can carry it: a lone surrogate (half an emoji from a front end) becomes U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise ValidationError("name must be a short one-line string naming the queue (scores are kept under it)",
                              field="name")
    return name.strip()


class ReviewSession:
    """The state of one review queue: which case is shown, what was scored, and where each score went."""

    def __init__(self, results: pd.DataFrame, *, name: str, metric: Any = None, scale: Any = (1, 5),
                 show: Sequence[str] | None = None, send: bool = True, reviewer: str | None = None,
                 store: Store | None = None, outbox: Outbox | None = None) -> None:
        import pandas as pd

        if not isinstance(results, pd.DataFrame):
            raise ValidationError("review() needs a results DataFrame (invoke_many, load_run, judge)", field="results")
        if not len(results):
            raise ValidationError("there is nothing to review: the results frame is empty", field="results")
        self.name = check_name(name)
        self.scale: Scale = make_scale(scale)
        self.rubric: Rubric = rubric_of(metric)
        if isinstance(show, str):
            show = [show]
        if reviewer is not None and not isinstance(reviewer, str):
            raise ValidationError("reviewer must be a string naming who scores", field="reviewer")
        missing = [c for c in (show or []) if c not in results]
        if missing:
            raise ValidationError(f"show names columns the results do not have: {', '.join(map(str, missing))}",
                                  field="show")
        self.results = results
        self.show = list(show) if show is not None else [c for c in results.columns if c not in ANSWER_COLUMNS
                                                         and c not in JUDGE_COLUMNS and c not in EXPECTED_COLUMNS]
        self.cases = case_labels(results)
        self._row = {review_store.case_key(c): i for i, c in enumerate(self.cases)}
        self.send = bool(send)
        self.reviewer = _text(reviewer.strip()) if reviewer and reviewer.strip() else _whoami()
        self.store = store or default_store()
        self._outbox = outbox
        self.reviews: dict[str, review_store.Review] = {}
        self._check_same_answers()
        self.position = self._first_open()
        self._sender: _Sender | None = None

    # -- what is stored ----------------------------------------------------------------------

    def reload(self) -> None:
        """Read this queue's reviews from the store (another notebook may have scored meanwhile)."""
        self.reviews = {review_store.case_key(r.case): r for r in review_store.load(self.store, self.name)}

    def refresh(self, case: Any = None) -> review_store.Review | None:
        """Re-read one case from the store (default: the one shown): another notebook may have scored it."""
        case = self.case if case is None else case
        key = review_store.case_key(case)
        review = review_store.load_one(self.store, self.name, case)
        if review is None:
            self.reviews.pop(key, None)
        else:
            self.reviews[key] = review
        return review

    def _check_same_answers(self) -> None:
        self.reload()
        for key, review in self.reviews.items():
            if key not in self._row:
                continue
            row = self._row[key]
            response_id = self._response_id(row)
            answer = self._answer(row)
            if review.response_id or response_id:  # the ids decide: an answer with one is not one without
                other = response_id != review.response_id  # (an error in one run, answered in the other)
            else:  # else the answers' texts (a frame without ids)
                other = bool(review.answer and answer and review.answer != answer)
            if other:
                was = f"response {review.response_id}" if review.response_id else "an answer without an id"
                now = f"response {response_id}" if response_id else "an answer without an id"
                if was == now:
                    was, now = "one text", "another"
                raise ValidationError(f"queue {self.name!r} holds scores for other answers (case {review.case!r} was "
                                      f"{was}, now {now}); give this review another name", field="name")

    def _answer(self, row: int) -> str | None:
        """The fingerprint of the answer's text in ``row`` (None without a ``text`` column)."""
        if "text" not in self.results:
            return None
        value = self.results["text"].iat[row]
        return review_store.fingerprint(value if _present(value) else None)

    def _response_id(self, row: int) -> str | None:
        if "id" not in self.results:
            return None
        value = self.results["id"].iat[row]
        return value if isinstance(value, str) and value else None

    def _sendable(self, response_id: str | None) -> bool:
        """An id feedback can be sent to; a malformed one (``../x``) is not, but the score is still kept."""
        from ..clients.orq import check_id

        if not response_id:
            return False
        try:
            check_id(response_id, "id", what="the response id")
        except ValidationError:
            return False
        return True

    # -- position ----------------------------------------------------------------------------

    @property
    def case(self) -> Any:
        """The case shown now (its label in the results frame)."""
        return self.cases[self.position]

    def row(self, case: Any = None) -> pd.Series:
        return self.results.iloc[self._index(self.case if case is None else case)]

    def _index(self, case: Any) -> int:
        try:
            return self._row[review_store.case_key(case)]
        except (KeyError, TypeError, ValueError):  # TypeError, ValueError: no label JSON can carry
            raise ValidationError(f"case {case!r} is not in this queue", field="case") from None

    def review_of(self, case: Any = None) -> review_store.Review | None:
        return self.reviews.get(review_store.case_key(self.case if case is None else case))

    def is_open(self, case: Any) -> bool:
        """Neither scored nor skipped."""
        review = self.reviews.get(review_store.case_key(case))
        return review is None or (review.score is None and not review.skipped)

    def _first_open(self) -> int:
        for i, case in enumerate(self.cases):
            if self.is_open(case):
                return i
        return len(self.cases) - 1

    def go(self, position: int) -> None:
        self.position = max(0, min(len(self.cases) - 1, position))

    def next(self) -> None:
        self.go(self.position + 1)

    def back(self) -> None:
        self.go(self.position - 1)

    def next_open(self) -> bool:
        """Go to the next case neither scored nor skipped (wrapping round); False if there is none.

        Reads the store first, so a case another notebook scored meanwhile is passed over.
        """
        self.reload()
        n = len(self.cases)
        for step in range(1, n + 1):
            i = (self.position + step) % n
            if self.is_open(self.cases[i]):
                self.position = i
                return True
        return False

    @property
    def scored(self) -> int:
        return sum(1 for r in self.reviews.values() if r.score is not None and review_store.case_key(r.case) in self._row)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.reviews.values() if r.skipped and review_store.case_key(r.case) in self._row)

    def progress(self) -> str:
        """``17 of 200 · 16 scored · 1 skipped``."""
        text = f"{self.position + 1} of {len(self.cases)} · {self.scored} scored"
        return text + (f" · {self.skipped} skipped" if self.skipped else "")

    def distribution(self) -> list[tuple[str, int]]:
        """How many cases got each value of the scale, in scale order."""
        counts = {v: 0 for v in self.scale.values}
        for review in self.reviews.values():
            if review.score in counts and review_store.case_key(review.case) in self._row:
                counts[review.score] += 1
        return [(label, counts[v]) for label, v in zip(self.scale.labels, self.scale.values, strict=True)]

    # -- recording ---------------------------------------------------------------------------

    def record(self, case: Any, score: Any, comment: str | None = None) -> review_store.Review:
        """Keep ``score`` (a value of the scale, :data:`SKIP`, or None with a comment) and ``comment`` for ``case``.

        Written to the store before this returns; with ``send`` the feedback is
        recorded in the outbox in the same transaction (only if the value
        changed) and sent by a background thread, so the next case shows at once.
        """
        row = self._index(case)
        case = self.cases[row]
        skip = score is SKIP
        value = None if skip or score is None else self.scale.check(score)
        if comment is not None:
            if not isinstance(comment, str):
                raise ValidationError("comment must be a string", field="comment")
            comment = redact_known(_text(comment.strip()))
        if value is None and not skip and comment is None:
            raise ValidationError("record() needs a score, SKIP, or a comment", field="score")
        response_id = self._response_id(row)
        stored = self.review_of(case)
        feedback = None
        if self.send and value is not None and self._sendable(response_id):
            text = comment if comment is not None else (stored.comment if stored else None)
            feedback = {"score": self.scale.orq_score(value), "metadata": self._metadata(case, value, text)}
        submission = review_store.save(self.store, self.name, case, score=value, comment=comment, skipped=skip,
                                       response_id=response_id, reviewer=self.reviewer, metric=self.rubric.name,
                                       feedback=feedback, outbox=self._sending().outbox if feedback else None,
                                       answer=self._answer(row))
        review = self._reload_one(case)
        if submission is not None:
            self._sending().put(submission)
        return review

    def _reload_one(self, case: Any) -> review_store.Review:
        review = review_store.load_one(self.store, self.name, case)
        assert review is not None, "a saved review is missing"
        self.reviews[review_store.case_key(case)] = review
        return review

    def _metadata(self, case: Any, value: Any, comment: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"source": "human", "review": self.name, "case": review_store.plain(case),
                                "value": review_store.plain(value), "scale": [review_store.plain(v) for v in self.scale.values],
                                "reviewer": self.reviewer}
        if self.rubric.name:
            meta["metric"] = self.rubric.name
        if self.rubric.metric_id:
            meta["metric_id"] = self.rubric.metric_id
        if comment:
            meta["comment"] = comment
        return meta

    # -- sending -------------------------------------------------------------------------------

    def _sending(self) -> _Sender:
        if self._sender is None:
            from ..store.outbox import default_outbox

            self._sender = _Sender(self._outbox or default_outbox())
        return self._sender

    def wait_sent(self, timeout: float | None = 30.0) -> bool:
        """Wait until every score given so far was handed to orq (or kept pending by the outbox); True if done."""
        return self._sender is None or self._sender.wait(timeout)

    # -- results --------------------------------------------------------------------------------

    def frame(self) -> pd.DataFrame:
        return reviews_frame(list(self.reviews.values()), self.scale)

    def agreement(self, judged: pd.DataFrame, column: str = "score") -> Agreement:
        """Human scores against a judge's ``column`` over the cases both scored (the judge's errors left out):
        the agreement rate, and Cohen's kappa (thumbs and labels) or Spearman's rho (numeric scales)."""
        from .stats import cohen_kappa, match_rate, spearman

        if column not in judged:
            raise ValidationError(f"the judged frame has no column {column!r}", field="column")
        judge_cases = {review_store.case_key(c): i for i, c in enumerate(case_labels(judged))}
        human, judge = [], []
        for key, review in self.reviews.items():
            if review.score is None or key not in judge_cases:
                continue
            position = judge_cases[key]
            if "judge_error" in judged and _present(judged["judge_error"].iat[position]):
                continue
            verdict = judged[column].iat[position]
            if not _present(verdict):
                continue
            human.append(review.score)
            judge.append(review_store.plain(verdict))
        if self.scale.numeric:
            try:
                numbers = [float(v) for v in judge]
            except (TypeError, ValueError):
                raise ValidationError(f"the judge's {column!r} column is not numeric; this queue's scale is",
                                      field="column") from None
            return Agreement(self.name, column, len(human), match_rate(human, numbers) if human else math.nan,
                             "spearman", spearman(human, numbers) if human else math.nan)
        off = sorted({repr(v) for v in judge if not _on_scale(v, self.scale.values)})
        if off:  # counted as disagreement they would make kappa and the rate say less than the data does
            raise ValidationError(f"the judge's {column!r} column has values not on this queue's scale "
                                  f"({', '.join(map(str, self.scale.values))}): {', '.join(off[:3])}"
                                  f"{' …' if len(off) > 3 else ''}; map them onto it first", field="column")
        return Agreement(self.name, column, len(human), match_rate(human, judge) if human else math.nan,
                         "cohen_kappa", cohen_kappa(human, judge) if human else math.nan)


FEW_CASES = 20  # below this, kappa and rho swing widely with one case: say so


@dataclass(frozen=True)
class Agreement:
    """How often people and a judge agree: ``cases`` compared, exact ``agreement`` rate, and ``statistic``
    (``"cohen_kappa"`` or ``"spearman"``) with its ``value``. ``result["spearman"]`` reads it by name."""

    queue: str
    column: str
    cases: int
    agreement: float
    statistic: str
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "agreement": self.agreement, self.statistic: self.value}

    def __getitem__(self, name: str) -> Any:
        return self.to_dict()[name]

    def _lines(self) -> list[str]:
        from ..render.numbers import human

        name = {"cohen_kappa": "Cohen's kappa", "spearman": "Spearman's rho"}[self.statistic]
        note = "" if self.cases >= FEW_CASES else (" (few cases: a rough indication)" if self.cases else "")
        cases = "no case" if not self.cases else f"{self.cases} case{'s' if self.cases != 1 else ''}"
        rate = "—" if not self.cases or math.isnan(self.agreement) else f"{_unrounded(self.agreement * 100, human)} %"
        value = "—" if math.isnan(self.value) else _unrounded(self.value, lambda v, d: f"{v:.{d}f}")
        undefined = "" if not self.cases or not math.isnan(self.value) else (
            " (undefined with one case)" if self.cases == 1 else " (undefined: a side that never varies)")
        return [f"{self.queue} vs {self.column}: {cases} both scored{note}", f"agreement {rate}",
                f"{name} {value}{undefined}"]

    def __repr__(self) -> str:
        first, *rest = self._lines()
        return first + "\n  " + "\n  ".join(rest)

    def _repr_html_(self) -> str:
        first, *rest = (html.escape(line) for line in self._lines())
        return f"<div><b>{first}</b><br>{'<br>'.join(rest)}</div>"


def _unrounded(value: float, show: Any, digits: int = 2) -> str:
    """``show(value, digits)`` with more digits where rounding would claim an extreme the data do not reach:
    199 of 200 is ``99.5 %``, not ``100 %``; a kappa of 0.996 is ``0.996``, not ``1.00``."""
    text = show(value, digits)
    for more in range(digits + 1, digits + 8):
        shown = float(text.replace(",", ""))
        if shown == value or abs(shown) not in (1.0, 100.0):
            break
        text = show(value, more)
    return text


def _present(value: Any) -> bool:
    """Not a missing value: None, NaN, ``pd.NA`` and ``pd.NaT`` are missing (as ``notna`` has it)."""
    import pandas as pd

    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array in a cell: something is there
        return True


def _on_scale(value: Any, values: tuple[Any, ...]) -> bool:
    try:
        return any(value == known and isinstance(value, str) == isinstance(known, str) for known in values)
    except (TypeError, ValueError):
        return False


def reviews_frame(reviews: list[review_store.Review], scale: Scale | None = None) -> pd.DataFrame:
    """case, score, comment, reviewer, time (tz-aware UTC), skipped, metric, response_id — one row per case."""
    import pandas as pd

    frame = pd.DataFrame({
        "case": [r.case for r in reviews],
        "score": [r.score for r in reviews],
        "comment": [r.comment for r in reviews],
        "reviewer": [r.reviewer for r in reviews],
        "time": pd.to_datetime([r.time for r in reviews], unit="s", utc=True),
        "skipped": [r.skipped for r in reviews],
        "metric": [r.metric for r in reviews],
        "response_id": [r.response_id for r in reviews],
    })
    given = [r.score for r in reviews if r.score is not None]
    if (scale is not None and scale.numeric) or (scale is None and given and all(type(v) is int for v in given)):
        frame["score"] = pd.array([r.score for r in reviews], dtype="Int64")  # whole numbers stay whole; blanks <NA>
    return frame


def load_review(name: str, *, store: Store | None = None) -> pd.DataFrame:
    """The stored scores of the review queue ``name``: case, score, comment, reviewer, time (UTC), …

    ``store`` reads another store than the default one (``$ORQMAGIC_HOME``). An unknown name is a ValidationError.
    """
    name = check_name(name)
    reviews = review_store.load(store or default_store(), name)
    if not reviews and name not in review_store.queues(store or default_store()):
        raise ValidationError(f"no review named {name!r} in the local store", field="name")
    return reviews_frame(reviews)


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "unknown"


class _Sender:
    """One thread per queue that hands recorded feedback to orq in the order it was given."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._todo: _queue.Queue[str] = _queue.Queue()
        self._thread = threading.Thread(target=self._run, name="orqmagic-review-sender", daemon=True)
        self._thread.start()

    def put(self, submission_id: str) -> None:
        self._todo.put(submission_id)

    def _run(self) -> None:
        while True:
            submission_id = self._todo.get()
            try:
                self.outbox.send_one(submission_id)  # a transient failure leaves it pending for the next flush
            except Exception:  # never a thread traceback in the notebook; the record stays in the outbox
                pass
            finally:
                self._todo.task_done()

    def wait(self, timeout: float | None) -> bool:
        done = threading.Event()

        def join() -> None:
            self._todo.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)


__all__ = ["SKIP", "Agreement", "ReviewSession", "load_review", "reviews_frame"]
