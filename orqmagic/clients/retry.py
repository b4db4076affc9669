"""Retry policy: which failures are worth another attempt, how long to wait, and who hears about the wait.

Kept apart from the request cycle so the rules (429 always, 5xx only for idempotent reads, a
server's ``Retry-After`` honoured up to a cap) read in one place.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

from ..errors import RateLimitError, ServerError

# stamina logs each scheduled retry; without a handler Python would print them raw into the cell. Ours are shown in
# the live view instead, and an app that configures logging still receives them.
logging.getLogger("stamina").addHandler(logging.NullHandler())

RETRYABLE_READ_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry.

    429 and connection failures are retried for every call: the server did not
    act on the request. 5xx answers and read failures are retried only for
    idempotent reads, because a POST may already have taken effect. A stream is
    retried only before its first byte.
    """

    attempts: int = 4
    timeout: float = 60.0
    wait_initial: float = 0.2
    wait_max: float = 8.0
    max_retry_after: float = 30.0

    def should_retry(self, idempotent: bool) -> Callable[[Exception], bool | float]:
        def hook(exc: Exception) -> bool | float:
            if isinstance(exc, RateLimitError) or (
                idempotent
                and isinstance(exc, ServerError)
                and exc.status_code in RETRYABLE_READ_STATUSES
            ):
                wait = exc.retry_after
                if wait is not None and wait > self.max_retry_after:
                    return False  # longer than we are willing to block a cell: the error says so
                what = "rate limited" if isinstance(exc, RateLimitError) else f"{exc.status_code} from the server"
                announce(f"{what}, retrying in {wait:.0f} s" if wait is not None else f"{what}, retrying shortly")
                return True if wait is None else wait
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                return True
            return idempotent and isinstance(exc, (httpx.ReadTimeout, httpx.RemoteProtocolError))

        return hook

    def context(self, idempotent: bool) -> Any:
        return stamina.retry_context(
            on=self.should_retry(idempotent),
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
        )


NO_RETRY = RetryPolicy(attempts=1)

# Who hears about retry waits in this context (the live view sets it while a cell streams).
retry_listener: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("retry_listener", default=None)


def announce(message: str) -> None:
    listener = retry_listener.get()
    if listener is not None:
        with contextlib.suppress(Exception):  # a display problem must not turn a retry into a failure
            listener(message)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` (orq) or ``Retry-After`` (seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = float(millis) / 1000
            if math.isfinite(seconds):
                return max(0.0, seconds)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:  # an HTTP date; anything else ('soon') is unreadable: retry with our own backoff
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        import datetime as dt

        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return max(0.0, parsed.timestamp() - time.time())
