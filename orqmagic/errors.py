"""One exception hierarchy for everything orqmagic raises.

Every message is a single readable line. Messages are built from what the server
said (its ``message`` or ``error`` field), never from request headers, so a key
cannot end up in an exception.
"""

from __future__ import annotations

from typing import Any


class OrqMagicError(Exception):
    """Base class of every orqmagic error."""

    def _render_traceback_(self) -> list[str]:
        """In IPython: one red line, wrapped at word boundaries, not a traceback through orqmagic's internals.

        ``%config OrqMagic.show_traceback = True`` brings the full traceback back,
        formatted by IPython as ``%xmode`` says (raising here instead would make
        IPython print "Unexpected exception formatting exception" first).
        """
        import sys
        import textwrap

        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and shell.config.get("OrqMagic", {}).get("show_traceback", False):
            return shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
        text = f"{type(self).__name__}: {' '.join(str(self).split())}"
        return [f"\x1b[31m{line}\x1b[0m" for line in textwrap.wrap(text, 96, break_long_words=False,
                                                                   break_on_hyphens=False) or [text]]


class ConfigurationError(OrqMagicError):
    """The client cannot be set up: no key, a malformed base URL, ..."""


class ValidationError(OrqMagicError, ValueError):
    """Bad input caught on the client side; nothing was sent.

    ``field`` names the offending argument or body field.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransportError(OrqMagicError):
    """The service could not be reached (DNS, refused connection, broken TLS)."""


class RequestTimeout(TransportError):
    """The service did not answer within the configured timeout."""


class APIError(OrqMagicError):
    """The service answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status_code: int,
        body: Any = None,
    ) -> None:
        super().__init__(f"{service} answered {status_code}: {message}")
        self.service = service
        self.status_code = status_code
        self.server_message = message
        self.body = body


class BadRequestError(APIError):
    """400/422: the service rejected the request as invalid."""


class AuthenticationError(APIError):
    """401/403: missing, wrong or insufficient key."""


class NotFoundError(APIError):
    """404: unknown deployment, model, metric or transaction."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is in seconds, when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the service failed."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class StreamInterrupted(OrqMagicError):
    """A stream ended before ``[DONE]``: dropped, malformed, or interrupted.

    ``partial`` holds what arrived before the break (an ``InvokeResult`` once the
    stream has been turned into one), so no text is lost.
    """

    def __init__(self, message: str, *, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


class StreamTimeout(StreamInterrupted, RequestTimeout):
    """A stream went silent for longer than the stream timeout."""


class MalformedChunkError(StreamInterrupted):
    """A stream chunk was not valid JSON; the stream is abandoned at that point."""


def error_for_status(
    status_code: int,
    message: str,
    *,
    service: str,
    body: Any = None,
    retry_after: float | None = None,
) -> APIError:
    """The typed error for an HTTP error status."""
    kwargs: dict[str, Any] = {"service": service, "status_code": status_code, "body": body}
    if status_code in (401, 403):
        return AuthenticationError(message, **kwargs)
    if status_code == 404:
        return NotFoundError(message, **kwargs)
    if status_code == 429:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    if status_code >= 500:
        return ServerError(message, retry_after=retry_after, **kwargs)
    if status_code in (400, 409, 422):
        return BadRequestError(message, **kwargs)
    return APIError(message, **kwargs)


class JudgeAnswerError(OrqMagicError):
    """A judge deployment's answer that states no usable score or verdict (it becomes that row's ``judge_error``)."""


# -- issue 19: owned runs, and what a call tells without stopping ------------------------------------------


class RunBusyError(OrqMagicError):
    """A named run is held by another live runner (process or thread); nothing was sent.

    ``holder`` says who holds it (host and process id), so the user can tell a
    second notebook from a forgotten one.
    """

    def __init__(self, message: str, *, run: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.run = run
        self.holder = holder


class OrqMagicWarning(RuntimeWarning):
    """Something went wrong that did not stop the call: answers not recorded, a cache that could not be used."""


def warn(message: str) -> None:
    """One warning line (``orqmagic: OrqMagicWarning: ...``), with no source line under it.

    ``warnings.warn`` would print the caller's file, line and source; this says
    only what happened, which is all a notebook user needs. It is still a
    warning, so ``warnings.filterwarnings`` and ``pytest.warns`` see it.
    """
    import warnings

    warnings.warn_explicit(" ".join(message.split()), OrqMagicWarning, filename="orqmagic", lineno=0)
