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
    base_url: str
    key: Secret | None
    sandbox: bool

    def __repr__(self) -> str:
        key = "set" if self.key else "missing"
        where = "sandbox" if self.sandbox else "remote"
        return f"ServiceConfig({self.service.name}, {self.base_url!r}, key={key}, {where})"


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


def _check_url(url: str, origin: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{origin} must start with http:// or https://, got {url!r}")
    return url


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

    if base_url:
        return ServiceConfig(svc, _check_url(base_url, "base_url"), key, sandbox=False)
    if sandbox_mode_active():
        return _sandbox_config(svc)
    env_url = os.environ.get(svc.url_env, "").strip()
    if env_url:
        return ServiceConfig(svc, _check_url(env_url, svc.url_env), key, sandbox=False)
    if key is not None or _env_flag("ORQMAGIC_SANDBOX") is False:
        return ServiceConfig(svc, svc.default_url, key, sandbox=False)
    return _sandbox_config(svc)


def _sandbox_config(svc: Service) -> ServiceConfig:
    from .sandbox import shared_sandbox  # the server is only imported when it is used

    sandbox = shared_sandbox()
    return ServiceConfig(svc, sandbox.url, Secret(sandbox.key), sandbox=True)


def known_keys() -> list[Secret]:
    """Every key this process could send (set in the session or in the environment), never starting the sandbox.

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
    return keys
