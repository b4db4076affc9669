"""Where each service lives and which key it gets.

Resolution, per service, first match wins:

1. a ``base_url`` passed in code (with the ``api_key`` passed, or the environment's key);
2. sandbox mode (``ORQMAGIC_SANDBOX=1`` or :func:`use_sandbox`): the shared local sandbox;
3. ``<SERVICE>_BASE_URL`` in the environment;
4. a key (passed in code, entered with :func:`set_key`, or ``<SERVICE>_API_KEY``): the real service;
5. ``ORQMAGIC_SANDBOX=0``: the real service, keyless (requests then fail with a clear error);
6. otherwise the shared local sandbox: the embedded default, so a fresh machine just works.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError

ServiceName = Literal["orq", "baseten", "galtea"]


def _check_key(value: object) -> str:
    """The key as one line of printable ASCII; the error never contains the key itself."""
    # Each refusal drops the value from this frame first, so a verbose traceback's locals do not show it.
    if not isinstance(value, str):
        kind = type(value).__name__
        del value
        raise ConfigurationError(f"a key must be a str, got {kind} (the key is not shown)")
    value = value.strip()
    if not value:
        raise ConfigurationError("a key must be a non-empty string")
    for position, char in enumerate(value, 1):
        if not (char.isascii() and char.isprintable()) or char.isspace():
            kind = "a space" if char == " " else "a non-ASCII character" if not char.isascii() else "a control character"
            del value, char
            raise ConfigurationError(
                f"the key has {kind} at position {position}: a key is one line of printable ASCII "
                "without spaces; paste it again (the key is not shown)"
            )
    return value


class Secret:
    """A key that never shows itself: not in ``repr``, ``str``, f-strings, pickles, copies or debugger listings.

    The value is held in a closure, not an attribute, so ``dir()``, ``vars()``
    and the variable views of debuggers list only a function. What Python makes
    unavoidable: ``reveal()`` returns it, and the closure cell (or ``gc``) can be
    read by code that goes looking for it.
    """

    __slots__ = ("_reveal",)

    def __init__(self, value: str) -> None:
        try:
            checked = _check_key(value)
        except ConfigurationError:
            del value
            raise
        object.__setattr__(self, "_reveal", lambda: checked)

    def reveal(self) -> str:
        """The key itself, for the one place that needs it: the Authorization header."""
        return self._reveal()

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __dir__(self) -> list[str]:
        return ["reveal"]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Secret cannot be changed")

    def __eq__(self, other: object) -> bool:
        import hmac

        return isinstance(other, Secret) and hmac.compare_digest(other.reveal().encode(), self.reveal().encode())

    def __hash__(self) -> int:
        return hash(self.reveal())

    def __reduce_ex__(self, protocol: object) -> tuple:
        raise TypeError("a Secret cannot be pickled")

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> object:
        raise TypeError("a Secret has no state to hand out")

    def __copy__(self) -> Secret:
        raise TypeError("a Secret cannot be copied; pass the same object")

    def __deepcopy__(self, memo: object) -> Secret:
        raise TypeError("a Secret cannot be copied; pass the same object")

    @classmethod
    def hiding(cls, value: str) -> Secret:
        """A Secret for a credential found in a URL: any text (a key's one-line check does not apply)."""
        secret = object.__new__(cls)
        object.__setattr__(secret, "_reveal", lambda: value)
        return secret


MIN_HIDDEN = 4  # characters: a URL credential shorter than this is not redacted (see split_url)


@dataclass(frozen=True)
class SplitURL:
    """A configured URL cut into what may be shown and the credentials it carried.

    ``shown`` is scheme, host, port and path: what status lines, errors, reprs,
    the cache and the store see. ``query`` (sent with every request, at send
    time) and ``hidden`` (userinfo, query values, fragment: every form is
    redacted wherever text is shown) stay inside Secrets.
    """

    shown: str
    query: Secret | None
    hidden: tuple[Secret, ...]


def split_url(url: str) -> SplitURL:
    """Take every credential a URL can carry out of it (userinfo, query, fragment); see :class:`SplitURL`.

    Userinfo is dropped, not sent: the services take the key as a bearer token,
    which would replace HTTP basic credentials anyway. A fragment never leaves
    the machine. The query is kept and sent, since a gateway may want it.
    """
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    hidden: list[str] = []
    if userinfo:
        hidden += [userinfo, *userinfo.split(":", 1)]
    if parts.query:
        for pair in parts.query.split("&"):
            name, equals, value = pair.partition("=")
            hidden.append(value if equals else name)
    if parts.fragment:
        hidden.append(parts.fragment)
    # Shorter values (``?v=1``) are no credential, and hiding them would garble every message that has a 1 in it.
    forms = {form for raw in hidden for form in (raw, unquote(raw), unquote(raw.replace("+", " "))) if len(form) >= MIN_HIDDEN}
    return SplitURL(urlunsplit((parts.scheme, host, parts.path, "", "")),
                    Secret.hiding(parts.query) if parts.query else None,
                    tuple(Secret.hiding(form) for form in sorted(forms)))


def safe_url(url: str) -> str:
    """``url`` less any credentials (userinfo, query, fragment): the form to show, store or key a cache by.

    A URL that cannot be read at all (``http://[::1``) comes back as a placeholder, never as itself.
    """
    try:
        return split_url(url).shown
    except ValueError:
        return "(a URL that cannot be read)"


@dataclass(frozen=True)
class Service:
    name: ServiceName
    title: str
    key_env: str
    url_env: str
    default_url: str


SERVICES: dict[str, Service] = {
    "orq": Service("orq", "orq.ai", "ORQ_API_KEY", "ORQ_BASE_URL", "https://api.orq.ai"),
    "baseten": Service(
        "baseten", "Baseten", "BASETEN_API_KEY", "BASETEN_BASE_URL", "https://api.baseten.co"
    ),
    "galtea": Service(
        "galtea", "Galtea", "GALTEA_API_KEY", "GALTEA_BASE_URL", "https://api.galtea.ai"
    ),
}


@dataclass(frozen=True)
class ServiceConfig:
    """Everything a client needs to reach one service."""

    service: Service
    base_url: str  # less any credentials it was given with (see split_url): safe to show and store
    key: Secret | None
    sandbox: bool
    query: Secret | None = None  # the configured URL's query, added to every request at send time
    hidden: tuple[Secret, ...] = ()  # the credentials taken out of the configured URL, redacted wherever shown

    def __repr__(self) -> str:
        key = "set" if self.key else "missing"
        where = "sandbox" if self.sandbox else "remote"
        extra = ", URL credentials hidden" if self.hidden else ""
        return f"ServiceConfig({self.service.name}, {self.base_url!r}, key={key}, {where}{extra})"

    def secrets(self) -> tuple[Secret, ...]:
        """Everything that must never be shown: the key and the URL's credentials."""
        return (self.key, *self.hidden) if self.key is not None else self.hidden


class _Session:
    """Choices made in this process (``%orq sandbox``, ``%orq login``): they beat the environment."""

    def __init__(self) -> None:
        self.mode: Literal["auto", "sandbox", "remote"] = "auto"
        self.keys: dict[str, Secret] = {}


_session = _Session()


def use_sandbox() -> None:
    """Point every service at the shared local sandbox for the rest of this process."""
    _session.mode = "sandbox"


def use_remote() -> None:
    """Undo :func:`use_sandbox`: resolve services from keys and the environment again."""
    _session.mode = "auto"


def set_key(service: str, key: str) -> None:
    """Use ``key`` for ``service`` in this process (what ``%orq login`` calls after ``getpass``)."""
    svc = _service(service)
    try:
        _session.keys[svc.name] = Secret(key)
    except ConfigurationError as exc:
        del key  # not in this frame's locals in a verbose traceback
        raise ConfigurationError(f"{svc.title} key: {exc}") from None


def _service(name: str) -> Service:
    try:
        return SERVICES[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown service {name!r}; expected one of {', '.join(SERVICES)}"
        ) from None


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


def _check_url(url: str, origin: str) -> SplitURL:
    """The URL split into what may be shown and its credentials; a refusal shows no credential either.

    Each refusal blanks this frame's locals first: a verbose traceback shows them.
    """
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        raise ConfigurationError(f"{origin} must be a str, got {type(url).__name__}")
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        shown, safe = "a value not shown here (it may hold a credential)", safe_url(url)
        if "://" in url and not any(c in safe for c in "@?#()"):
            shown = repr(safe)
        elif not any(c in url for c in ":@?#"):
            shown = repr(url)
        url = safe = ""
        raise ConfigurationError(f"{origin} must start with http:// or https://, got {shown}")
    try:
        split = split_url(url)
        parts = urlsplit(split.shown)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a bracketed host that is no IP address, a port that is no number
        url = ""
        raise ConfigurationError(f"{origin} is not a URL that can be read (not shown: it may hold a credential)") from None
    if not parts.hostname or not port_ok:
        url = ""
        raise ConfigurationError(f"{origin} needs a host (and a port from 1 to 65535), got {split.shown!r}")
    return SplitURL(split.shown.rstrip("/"), split.query, split.hidden)


def _remote(svc: Service, url: SplitURL, key: Secret | None) -> ServiceConfig:
    return ServiceConfig(svc, url.shown, key, sandbox=False, query=url.query, hidden=url.hidden)


def sandbox_mode_active() -> bool:
    return _session.mode == "sandbox" or _env_flag("ORQMAGIC_SANDBOX") is True


def resolve(
    service: str, *, api_key: str | Secret | None = None, base_url: str | None = None
) -> ServiceConfig:
    """Decide where ``service`` lives and which key it gets (see the module docstring)."""
    svc = _service(service)
    if api_key is not None and not isinstance(api_key, (str, Secret)):
        kind = type(api_key).__name__
        del api_key
        raise ConfigurationError(f"api_key must be a str, got {kind} (the key is not shown)")
    try:
        explicit_key = Secret(api_key) if isinstance(api_key, str) else api_key
    except ConfigurationError:
        del api_key
        raise
    env_key = os.environ.get(svc.key_env, "").strip()
    try:
        key = explicit_key or _session.keys.get(svc.name) or (Secret(env_key) if env_key else None)
    except ConfigurationError as exc:
        del env_key, api_key
        raise ConfigurationError(f"{svc.key_env}: {exc}") from None

    env_url = os.environ.get(svc.url_env, "").strip()
    try:
        if base_url:
            return _remote(svc, _check_url(base_url, "base_url"), key)
        if sandbox_mode_active():
            return _sandbox_config(svc)
        if env_url:
            return _remote(svc, _check_url(env_url, svc.url_env), key)
    except ConfigurationError:
        api_key = base_url = env_key = env_url = None  # a verbose traceback shows this frame's locals
        raise
    if key is not None or _env_flag("ORQMAGIC_SANDBOX") is False:
        return ServiceConfig(svc, svc.default_url, key, sandbox=False)
    return _sandbox_config(svc)


def _sandbox_config(svc: Service) -> ServiceConfig:
    from .sandbox import shared_sandbox  # the server is only imported when it is used

    sandbox = shared_sandbox()
    return ServiceConfig(svc, sandbox.url, Secret(sandbox.key), sandbox=True)


def known_keys() -> list[Secret]:
    """Every key this process could send (set in the session or in the environment), and the credentials the
    services' base URLs in the environment carry (userinfo, query values, fragment), never starting the sandbox.

    For free text people type (a review comment) that is stored and sent: a key pasted there is stripped out.
    """
    keys = list(_session.keys.values())
    for svc in SERVICES.values():
        value = os.environ.get(svc.key_env, "").strip()
        if value:
            try:
                keys.append(Secret(value))
            except ConfigurationError:
                continue  # not a usable key: never sent, so nothing to strip
        url = os.environ.get(svc.url_env, "").strip()
        if url:
            try:
                keys.extend(split_url(url).hidden)
            except ValueError:  # a URL that cannot be read is refused where it is used
                continue
    return keys
