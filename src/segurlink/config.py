"""Frozen settings objects, loaded explicitly from code, a TOML file or the environment.

Nothing here runs at import time: a program builds its :class:`Settings` with one of
:meth:`Settings.from_toml`, :meth:`Settings.from_env` or the constructor, and passes it
to the clients.

TOML layout (every table optional except ``[software]`` for the services that need it)::

    [software]              # the DUI software, as authorised by the CNDA
    name = "MonDUI"
    version = "4.2"
    idam = "R1234567"       # CNDA authorisation number
    instance = "0c1f7c3e-..."  # UUID fixed per installation

    [structure]
    finess = "010000016"
    name = "EHPAD Les Tilleuls"

    [tls]                   # default mutual-TLS identity and trust store
    cert = "org-auth.pem"   # PEM certificate (chain) ...
    key = "org-auth.key"    # ... and its key, or:
    pkcs12 = "org-auth.p12"
    password = "..."        # key or PKCS#12 password (redacted in reprs)
    ca_bundle = "igc-sante-ca.pem"

    [timeouts]
    connect = 5.0
    read = 30.0

    [limits]                # largest answer a service may send (checked while reading)
    max_answer_mb = 64      # an answer held in memory (SOAP, JSON, a FHIR page)
    max_download_mb = 4096  # a download streamed to disk (ROR $export outputs)

    [insi]                  # one table per service: endpoint + its own TLS overrides
    endpoint = "https://qualiflps-services-ps-tlsm.ameli.fr/lps"
    cert = "insi-auto.pem"
    key = "insi-auto.key"

Values of service tables whose key ends with ``password``, ``secret``, ``token`` or
``api_key`` are wrapped in :class:`Secret` (call ``.reveal()`` where the value must be sent).

Environment: ``SEGURLINK_<TABLE>__<KEY>``, e.g. ``SEGURLINK_SOFTWARE__IDAM``,
``SEGURLINK_INSI__ENDPOINT``, ``SEGURLINK_TLS__CA_BUNDLE``.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self
from urllib.parse import urlsplit

from ._finess import check_finess
from .errors import ConfigurationError, InputError

__all__ = [
    "Limits",
    "Secret",
    "Settings",
    "SoftwareIdentity",
    "Structure",
    "Timeouts",
    "TlsConfig",
]

ENV_PREFIX = "SEGURLINK_"
_TLS_KEYS = ("cert", "key", "pkcs12", "password", "ca_bundle")


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret string whose repr and str never show the value.

    >>> Secret("hunter2")
    Secret('***')
    """

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class SoftwareIdentity:
    """The DUI software as the national services know it.

    ``idam`` is the CNDA authorisation number; ``instance`` a UUID fixed per installation.
    """

    name: str
    version: str
    idam: str
    instance: str

    def __post_init__(self) -> None:
        for attr in ("name", "version", "idam"):
            if not getattr(self, attr).strip():
                raise ConfigurationError(f"software.{attr} must not be empty")
        try:
            uuid.UUID(self.instance)
        except ValueError as exc:
            raise ConfigurationError(
                f"software.instance must be a UUID, got {self.instance!r}"
            ) from exc

    @property
    def lps_name(self) -> str:
        """The ``urn:lps:<name>:<version>`` form used in SIRAM contexts."""
        return f"urn:lps:{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class Structure:
    """The care structure operating the DUI (FINESS identifies it)."""

    finess: str
    name: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "finess", check_finess(self.finess))
        except InputError as exc:
            raise ConfigurationError(f"structure.finess: {exc.message}") from exc


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """A mutual-TLS identity and the CA bundle trusted for the server.

    Either ``cert`` + ``key`` (PEM) or ``pkcs12``. ``ca_bundle`` is the IGC-Santé CA chain;
    when ``None`` the system store is used. Verification is never disabled.
    """

    cert: Path | None = None
    key: Path | None = None
    pkcs12: Path | None = None
    password: Secret | None = None
    ca_bundle: Path | None = None

    def __post_init__(self) -> None:
        if self.pkcs12 is not None and (self.cert is not None or self.key is not None):
            raise ConfigurationError("give either tls.pkcs12 or tls.cert/tls.key, not both")
        if self.key is not None and self.cert is None:
            raise ConfigurationError("tls.key is set without tls.cert")

    @property
    def has_client_identity(self) -> bool:
        return self.cert is not None or self.pkcs12 is not None

    def check_files(self) -> None:
        """Raise :class:`ConfigurationError` if a configured file does not exist."""
        for name in ("cert", "key", "pkcs12", "ca_bundle"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ConfigurationError(f"tls.{name}: file not found: {path}")

    def overlay(self, section: Mapping[str, Any], base_dir: Path | None = None) -> TlsConfig:
        """This config with the TLS keys present in ``section`` replacing ours.

        A section giving ``pkcs12`` drops an inherited PEM pair, and the reverse.
        """
        given = {k: section[k] for k in _TLS_KEYS if section.get(k) not in (None, "")}
        if not given:
            return self
        changes: dict[str, Any] = {}
        for key, value in given.items():
            if key == "password":
                changes[key] = value if isinstance(value, Secret) else Secret(str(value))
            else:
                changes[key] = resolve_path(value, base_dir)
        if "pkcs12" in changes:
            changes.setdefault("cert", None)
            changes.setdefault("key", None)
        elif "cert" in changes:
            changes.setdefault("pkcs12", None)
            changes.setdefault("key", None)
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Finite network timeouts in seconds; every call uses them."""

    connect: float = 5.0
    read: float = 30.0

    def __post_init__(self) -> None:
        if not (0 < self.connect <= 600 and 0 < self.read <= 3600):
            raise ConfigurationError(f"timeouts must be positive and finite: {self}")

    @property
    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest answer a service may send, in MiB, enforced while the body is read.

    ``max_answer_mb`` bounds every answer held in memory (SOAP envelopes, JSON, a FHIR
    page); ``max_download_mb`` bounds a body streamed to disk (ROR ``$export`` outputs).
    A longer answer fails with :class:`~segurlink.errors.MalformedResponse` as soon as it
    passes the limit, before memory grows further.

    >>> Limits(max_answer_mb=8).max_answer_bytes
    8388608
    """

    max_answer_mb: float = 64.0
    max_download_mb: float = 4096.0

    def __post_init__(self) -> None:
        for name in ("max_answer_mb", "max_download_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"limits.{name} must be a number of MiB, not {value!r}")
            if not 0 < value <= 1024 * 1024:
                raise ConfigurationError(f"limits.{name} must be positive (MiB): {value}")

    @property
    def max_answer_bytes(self) -> int:
        return int(self.max_answer_mb * 1024 * 1024)

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything segurlink needs to talk to the national services.

    Service sections (``insi``, ``dmp``, ``psc``, ``ror``...) are kept as read-only
    mappings; each service turns its own into typed settings with its
    ``<Service>Settings.from_settings`` (``segurlink.insi.InsiSettings.from_settings``...).

    >>> s = Settings.from_mapping({"insi": {"endpoint": "https://127.0.0.1:8443/lps"}})
    >>> s.section("insi")["endpoint"]
    'https://127.0.0.1:8443/lps'
    """

    software: SoftwareIdentity | None = None
    structure: Structure | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    base_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        frozen = {k: MappingProxyType(dict(v)) for k, v in self.sections.items()}
        object.__setattr__(self, "sections", MappingProxyType(frozen))

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base_dir: Path | None = None) -> Self:
        """Build settings from a TOML-shaped mapping (tables as nested mappings)."""
        data = {k: v for k, v in data.items()}
        for name, table in data.items():
            if not isinstance(table, Mapping):
                raise ConfigurationError(f"[{name}] must be a table")
        try:
            software = data.pop("software", None)
            structure = data.pop("structure", None)
            tls = TlsConfig().overlay(data.pop("tls", {}), base_dir)
            timeouts_table = data.pop("timeouts", {})
            unknown = sorted(set(timeouts_table) - {"connect", "read"})
            if unknown:
                raise ConfigurationError(
                    f"unknown [timeouts] key(s) {', '.join(unknown)}: only connect and read"
                )
            timeouts = Timeouts(
                **{k: float(v) for k, v in timeouts_table.items() if k in ("connect", "read")}
            )
            limits_table = data.pop("limits", {})
            unknown = sorted(set(limits_table) - {"max_answer_mb", "max_download_mb"})
            if unknown:
                raise ConfigurationError(
                    f"unknown [limits] key(s) {', '.join(unknown)}: "
                    "only max_answer_mb and max_download_mb"
                )
            limits = Limits(**{k: float(v) for k, v in limits_table.items()})
            return cls(
                software=SoftwareIdentity(**{k: str(v) for k, v in software.items()})
                if software
                else None,
                structure=Structure(**{k: str(v) for k, v in structure.items()})
                if structure
                else None,
                tls=tls,
                timeouts=timeouts,
                limits=limits,
                sections={name: _wrap_secrets(table) for name, table in data.items()},
                base_dir=base_dir,
            )
        except TypeError as exc:
            raise ConfigurationError(f"unknown or missing setting: {exc}") from exc
        except ValueError as exc:
            raise ConfigurationError(f"invalid setting: {exc}") from exc

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Self:
        """Load a TOML file; relative file paths in it are relative to the file."""
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigurationError(f"cannot read settings file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_mapping(data, base_dir=path.parent.resolve())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Load ``SEGURLINK_<TABLE>__<KEY>`` variables (``os.environ`` when not given).

        ``SEGURLINK_CONFIG`` names a TOML file read first; variables override it.
        """
        environ = os.environ if environ is None else environ
        data: dict[str, dict[str, Any]] = {}
        base_dir: Path | None = None
        config_file = environ.get(ENV_PREFIX + "CONFIG")
        if config_file:
            base = cls.from_toml(config_file)
            data = base.to_mapping()
            base_dir = base.base_dir
        for name, value in environ.items():
            if not name.startswith(ENV_PREFIX) or "__" not in name:
                continue
            table, _, key = name[len(ENV_PREFIX) :].partition("__")
            if table and key:
                data.setdefault(table.lower(), {})[key.lower()] = value
        return cls.from_mapping(data, base_dir=base_dir)

    def to_mapping(self) -> dict[str, dict[str, Any]]:
        """The TOML-shaped mapping of these settings (secrets stay wrapped)."""
        out: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.sections.items()}
        if self.software:
            out["software"] = {
                "name": self.software.name,
                "version": self.software.version,
                "idam": self.software.idam,
                "instance": self.software.instance,
            }
        if self.structure:
            out["structure"] = {"finess": self.structure.finess, "name": self.structure.name}
        out["tls"] = {k: getattr(self.tls, k) for k in _TLS_KEYS if getattr(self.tls, k)}
        out["timeouts"] = {"connect": self.timeouts.connect, "read": self.timeouts.read}
        out["limits"] = {
            "max_answer_mb": self.limits.max_answer_mb,
            "max_download_mb": self.limits.max_download_mb,
        }
        return out

    # -- service sections ----------------------------------------------------------------

    def section(self, name: str) -> Mapping[str, Any]:
        """The raw ``[name]`` table (empty when absent)."""
        return self.sections.get(name, MappingProxyType({}))

    def tls_for(self, service: str) -> TlsConfig:
        """The TLS config of ``service``: the global ``[tls]`` with the section's overrides."""
        return self.tls.overlay(self.section(service), self.base_dir)

    def require_software(self) -> SoftwareIdentity:
        if self.software is None:
            raise ConfigurationError(
                "[software] is required (name, version, idam, instance): "
                "set it in the TOML file or SEGURLINK_SOFTWARE__* variables"
            )
        return self.software


_SECRET_SUFFIXES = ("password", "secret", "token", "api_key")
#: Hosts a plain ``http://`` endpoint may name: tests and mocks on this machine only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _wrap_secrets(table: Mapping[str, Any]) -> dict[str, Any]:
    """Section values whose key names a secret (``*password``, ``*secret``, ``*token``,
    ``*api_key``) become :class:`Secret`, so no repr of the settings can show them."""
    return {
        key: Secret(str(value))
        if key.lower().endswith(_SECRET_SUFFIXES) and not isinstance(value, Secret)
        else value
        for key, value in table.items()
    }


# -- helpers every service's settings.py uses ----------------------------------------------


def resolve_path(value: Any, base_dir: Path | None) -> Path:
    """A settings path: ``~`` expanded, relative to ``base_dir`` (the TOML file's folder).

    >>> resolve_path("certs/a.pem", Path("/etc/mondui"))
    PosixPath('/etc/mondui/certs/a.pem')
    """
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def as_secret(value: Any) -> Secret | None:
    """A settings value as a :class:`Secret` (``None`` when absent or empty).

    >>> as_secret("s3cret"), as_secret(""), as_secret(Secret("x"))
    (Secret('***'), None, Secret('***'))
    """
    if value is None or value == "":
        return None
    return value if isinstance(value, Secret) else Secret(str(value))


def check_url(name: str, value: str) -> str:
    """``value`` if it is an ``https`` URL, or an ``http`` one on loopback (tests, mocks).

    Plain http elsewhere would carry tokens, secrets and health data in clear: a
    :class:`ConfigurationError` names the setting.

    >>> check_url("ror.endpoint", "http://127.0.0.1:8080/fhir")
    'http://127.0.0.1:8080/fhir'
    >>> check_url("ror.endpoint", "http://ror.example/fhir")
    Traceback (most recent call last):
    segurlink.errors.ConfigurationError: ror.endpoint must be an https URL (http only on loopback): 'http://ror.example/fhir'
    """
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ConfigurationError(f"{name} must be an http(s) URL: {value!r}")
    if value.startswith("http://") and urlsplit(value).hostname not in LOOPBACK_HOSTS:
        raise ConfigurationError(f"{name} must be an https URL (http only on loopback): {value!r}")
    return value
