"""The INSi client: moves bytes between :mod:`segurlink.insi.messages` and the service."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import requests

from .._audit import ExchangeLog, mask_xml
from .._http import build_session, request_errors
from ..config import InsiSettings, Limits, Settings, SoftwareIdentity, Timeouts, TlsConfig
from ..errors import ConfigurationError, HttpStatusError, InsiFault, MalformedResponse
from ..identity import IdentityTraits, Ins
from .messages import BuiltRequest, InsiMessages, parse_answer
from .models import (
    CrCode,
    InsiResult,
    Mismatch,
    SearchAttempt,
    SearchOutcome,
    TraitsQuery,
    Verification,
    VitaleQuery,
)

__all__ = ["InsiClient"]

logger = logging.getLogger(__name__)


class InsiClient:
    """Client of the INSi teleservice, certificate (mutual TLS) mode.

    >>> client = InsiClient.from_settings(Settings.from_toml("segurlink.toml"))  # doctest: +SKIP
    >>> outcome = client.search(traits)  # doctest: +SKIP
    >>> outcome.identity.ins if outcome.found else outcome.result.label  # doctest: +SKIP

    The session is injected (built by :func:`segurlink._http.build_session` by default), so
    mutual TLS, the CA bundle and pooling live on it. Every call has the configured finite
    timeouts. The client is thread-safe: it holds no per-call state.
    """

    service_name = "insi"

    def __init__(
        self,
        settings: InsiSettings,
        software: SoftwareIdentity,
        *,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        wsdl: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        if settings.mode != "certificate":
            raise ConfigurationError(
                "INSi card / Pro Santé Connect mode is not available yet; use mode='certificate'"
            )
        if not settings.tls.has_client_identity:
            raise ConfigurationError(
                "INSi certificate mode needs a client certificate (INSI-AUTO or INSI-MANU): "
                "set insi.cert/insi.key or insi.pkcs12"
            )
        self.settings = settings
        self.timeouts = timeouts or Timeouts()
        self._session = session or build_session(settings.tls, self.timeouts, limits=limits)
        self._log = log or ExchangeLog()
        emitter = settings.emitter or certificate_ou(settings.tls)
        self.messages = InsiMessages(software, emitter=emitter, wsdl=wsdl)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
    ) -> InsiClient:
        """A client for the ``[insi]`` section of ``settings``."""
        return cls(
            settings.insi(),
            settings.require_software(),
            timeouts=settings.timeouts,
            session=session,
            log=log,
            limits=settings.limits,
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> InsiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InsiClient(endpoint={self.settings.endpoint!r})"

    # -- single calls --------------------------------------------------------------------

    def search_once(self, query: TraitsQuery) -> tuple[InsiResult, str]:
        """One ``rechercherInsAvecTraitsIdentite`` call; returns the result and message id."""
        request = self.messages.search_by_traits(query)
        return self._call("rechercherInsAvecTraitsIdentite", request), request.message_id

    def search_with_vitale(self, query: VitaleQuery) -> InsiResult:
        """One ``rechercherInsAvecCarteVitale`` call with the data read on the card."""
        request = self.messages.search_by_vitale(query)
        return self._call("rechercherInsAvecCarteVitale", request)

    # -- strategies ----------------------------------------------------------------------

    def search(self, traits: IdentityTraits, *, send_birth_place: bool = False) -> SearchOutcome:
        """Search the INS the way certified clients do.

        Each birth first name is sent in turn (one per call) until CR 00. On CR 02 the
        birth place is added if it was not sent. CR 01 is reported as is: an existing
        person may not be found, and segurlink does not guess.
        """
        attempts: list[SearchAttempt] = []
        results: list[InsiResult] = []
        for rank, first_name in enumerate(_unique(traits.first_names), start=1):
            query = TraitsQuery.from_traits(traits, first_name, with_birth_place=send_birth_place)
            result, message_id = self.search_once(query)
            attempts.append(
                SearchAttempt(rank, query.birth_place is not None, result.code, message_id)
            )
            results.append(result)
            if result.code is CrCode.MULTIPLE and query.birth_place is None and traits.birth_place:
                query = TraitsQuery.from_traits(traits, first_name, with_birth_place=True)
                result, message_id = self.search_once(query)
                attempts.append(SearchAttempt(rank, True, result.code, message_id))
                results.append(result)
            if result.code is CrCode.FOUND:
                return SearchOutcome(result, tuple(attempts))
        multiple = [r for r in results if r.code is CrCode.MULTIPLE]
        final = multiple[-1] if multiple else results[-1]
        return SearchOutcome(final, tuple(attempts))

    def verify(
        self, ins: Ins, traits: IdentityTraits, *, send_birth_place: bool = False
    ) -> Verification:
        """Check a stored INS and its traits against INSi.

        Searches with the stored traits, then reports each difference: the INS (``ins``
        when another one is active, ``ins_superseded`` when the stored one is only in the
        history), and every strict trait (birth name, first names, sex, birth date, birth
        place).
        """
        outcome = self.search(traits, send_birth_place=send_birth_place)
        identity = outcome.identity
        if identity is None:
            return Verification(outcome, ())
        return Verification(
            outcome,
            compare_identity(ins, traits, identity.ins, identity.previous_ins, identity.traits),
        )

    # -- transport -----------------------------------------------------------------------

    def _call(self, operation: str, request: BuiltRequest) -> InsiResult:
        url = self.settings.endpoint
        with self._log.exchange(self.service_name, operation, url=url) as record:
            record.message_id = request.message_id
            self._log.body(record, "request", request.body)
            with request_errors(url):
                response = self._session.post(
                    url,
                    data=request.body,
                    headers={"Content-Type": request.content_type},
                    timeout=self.timeouts.as_tuple,
                )
                content = response.content
            record.http_status = response.status_code
            self._log.body(record, "response", content)
            ctype = response.headers.get("Content-Type", "")
            is_xml = "xml" in ctype.lower()
            if response.status_code not in (200, 500) or not is_xml:
                if response.status_code == 200:
                    raise MalformedResponse(
                        f"INSi answered 200 with {ctype or 'no content type'}, not SOAP", url=url
                    )
                raise HttpStatusError(
                    f"INSi answered HTTP {response.status_code} ({ctype or 'no content type'})",
                    status=response.status_code,
                    url=url,
                    body_excerpt=mask_xml(content, max_bytes=300),
                )
            try:
                result = parse_answer(content, expected_action=request.action)
            except InsiFault as fault:
                record.outcome = f"{fault.subcode}/{fault.detail_code}"
                raise
            if response.status_code != 200:
                raise HttpStatusError(
                    f"INSi answered HTTP {response.status_code} with a result",
                    status=response.status_code,
                    url=url,
                )
            record.outcome = result.code.value
            return result


def compare_identity(
    stored_ins: Ins,
    stored: IdentityTraits,
    returned_ins: Ins,
    previous_ins: Sequence[Ins],
    returned: IdentityTraits,
) -> tuple[Mismatch, ...]:
    """Each difference between a stored identity and the one INSi returned (pure)."""
    mismatches: list[Mismatch] = []
    if stored_ins.value != returned_ins.value or stored_ins.oid != returned_ins.oid:
        superseded = any(p.value == stored_ins.value for p in previous_ins)
        mismatches.append(
            Mismatch(
                "ins_superseded" if superseded else "ins", stored_ins.value, returned_ins.value
            )
        )
    pairs = (
        ("birth_name", stored.birth_name, returned.birth_name),
        ("first_names", stored.first_names_text, returned.first_names_text),
        ("sex", stored.sex.value, returned.sex.value),
        ("birth_date", stored.birth_date, returned.birth_date),
        ("birth_place", stored.birth_place or "", returned.birth_place or ""),
    )
    for name, mine, theirs in pairs:
        if mine != theirs:
            mismatches.append(Mismatch(name, mine, theirs))
    return tuple(mismatches)


def certificate_ou(tls: TlsConfig) -> str:
    """The OU of the client certificate: the ``Emetteur`` in certificate mode."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    try:
        if tls.cert is not None:
            cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
        elif tls.pkcs12 is not None:
            password = tls.password.reveal().encode() if tls.password else None
            bundle = pkcs12.load_pkcs12(tls.pkcs12.read_bytes(), password)
            if bundle.cert is None:
                raise ValueError("no certificate in the PKCS#12 file")
            cert = bundle.cert.certificate
        else:
            raise ConfigurationError("no client certificate configured")
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the client certificate: {exc}") from exc
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not ous:
        raise ConfigurationError("the client certificate has no OU; set insi.emitter explicitly")
    return str(ous[0].value)


def _unique(values: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
