"""Settings of the DMP client, from the ``[dmp]`` table (and ``[software]``,
``[structure]``, ``[tls]``, ``[timeouts]``, ``[limits]``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self, cast

from ..cda.models import Code
from ..config import (
    Limits,
    Secret,
    Settings,
    SoftwareIdentity,
    Timeouts,
    TlsConfig,
    as_secret,
    check_url,
    resolve_path,
)
from ..errors import ConfigurationError
from .models import (
    _OID,
    CONTENT_TYPE_SYSTEMS,
    DEFAULT_CONTENT_TYPE,
    DMP_REPOSITORY_ID,
    MAX_OID_LENGTH,
    MAX_SOURCE_OID_LENGTH,
    ResponsiblePerson,
)

__all__ = ["DmpSettings"]

Mode = Literal["indirect", "indirect_reinforced"]


@dataclass(frozen=True, slots=True)
class DmpSettings:
    """Settings of the DMP client, from the ``[dmp]`` table (see :meth:`from_settings`).

    ``endpoint`` is the base URL; services are ``<endpoint>/patients``, ``/registry``,
    ``/repository``. ``content_type`` is the SubmissionSet contentTypeCode (JDV_J59) of
    every submission, from ``[dmp] content_type`` / ``content_type_system`` /
    ``content_type_display``. ``tls`` is the ORG AUTH_CLI identity (mutual TLS); ``signing_cert``
    / ``signing_key`` the ORG SIGN pair that signs the VIHF and the XAdES signature.
    """

    endpoint: str
    tls: TlsConfig
    signing_cert: Path
    signing_key: Path
    software: SoftwareIdentity
    structure_id: str
    structure_name: str
    responsible: ResponsiblePerson
    homologation_id: str
    mode: Mode = "indirect"
    sector: str = "SA17"
    source_oid: str = "1.2.250.1.999.1.1"
    signing_key_password: Secret | None = None
    repository_id: str = DMP_REPOSITORY_ID
    content_type: Code = DEFAULT_CONTENT_TYPE
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.content_type.code_system not in CONTENT_TYPE_SYSTEMS:
            raise ConfigurationError(
                f"dmp.content_type_system {self.content_type.code_system!r} is not a code "
                "system of JDV_J59 (TRE_A00, TRE_R209 or TRE_R02)"
            )
        check_url("dmp.endpoint", self.endpoint)
        if self.mode not in ("indirect", "indirect_reinforced"):
            raise ConfigurationError(
                f"dmp.mode must be indirect or indirect_reinforced, not {self.mode!r}"
            )
        if not _OID.fullmatch(self.source_oid):
            raise ConfigurationError(f"dmp.source_oid must be an OID: {self.source_oid!r}")
        if len(self.source_oid) > MAX_SOURCE_OID_LENGTH:
            raise ConfigurationError(
                f"dmp.source_oid has {len(self.source_oid)} characters: at most "
                f"{MAX_SOURCE_OID_LENGTH}, so that the ids generated under it (submission "
                f"sets, signatures) stay within the {MAX_OID_LENGTH}-character OID limit"
            )
        if not self.homologation_id.strip():
            raise ConfigurationError("dmp.homologation_id (LPS_ID_HOMOLOGATION_DMP) is required")

    def service_url(self, service: str) -> str:
        """``<endpoint>/<service>`` (``patients``, ``registry``, ``repository``)."""
        return f"{self.endpoint.rstrip('/')}/{service}"

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Typed settings from the ``[dmp]``, ``[software]`` and ``[structure]`` tables."""
        section: Mapping[str, object] = settings.section("dmp")

        def need(key: str) -> str:
            value = section.get(key)
            if value in (None, ""):
                raise ConfigurationError(f"dmp.{key} is not set (TOML [dmp] {key})")
            return str(value)

        if settings.structure is None:
            raise ConfigurationError("[structure] finess is required for the DMP")
        tls = settings.tls_for("dmp")
        if not tls.has_client_identity:
            raise ConfigurationError("the DMP needs an ORG AUTH_CLI certificate: dmp.cert/key")
        password = section.get("signing_key_password")
        mode = str(section.get("mode", "indirect"))
        return cls(
            endpoint=need("endpoint"),
            tls=tls,
            signing_cert=resolve_path(need("signing_cert"), settings.base_dir),
            signing_key=resolve_path(need("signing_key"), settings.base_dir),
            signing_key_password=as_secret(password),
            software=settings.require_software(),
            structure_id="1" + settings.structure.finess,
            structure_name=settings.structure.name or "",
            responsible=ResponsiblePerson(
                national_id=need("responsible_id"),
                family=need("responsible_family"),
                given=need("responsible_given"),
                profession=str(section.get("responsible_profession", "10")),
                speciality=str(section.get("responsible_speciality", "")),
            ),
            homologation_id=need("homologation_id"),
            mode=cast(Mode, mode),  # checked in __post_init__
            sector=str(section.get("sector", "SA17")),
            source_oid=str(section.get("source_oid", "1.2.250.1.999.1.1")),
            repository_id=str(section.get("repository_id", DMP_REPOSITORY_ID)),
            content_type=_content_type(section),
            timeouts=settings.timeouts,
            limits=settings.limits,
        )


def _content_type(section: Mapping[str, object]) -> Code:
    """``[dmp] content_type`` (+ ``content_type_system``, ``content_type_display``)."""
    code = section.get("content_type")
    if code in (None, ""):
        return DEFAULT_CONTENT_TYPE
    system = str(section.get("content_type_system", DEFAULT_CONTENT_TYPE.code_system))
    return Code(str(code), system, str(section.get("content_type_display", "")))
