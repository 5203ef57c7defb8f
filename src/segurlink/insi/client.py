"""The INSi client: moves bytes between :mod:`segurlink.insi.messages` and the service."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import requests

from .._audit import ExchangeLog
from .._clock import Clock, utc_datetime
from .._flow import drive
from .._transport import Answer, HttpClient, HttpTransport, Shape
from ..config import Settings, TlsConfig
from ..errors import ConfigurationError, HttpStatusError, InputError, InsiFault
from ..identity import IdentityTraits, Ins
from .flows import search_strategy
from .messages import BuiltRequest, InsiMessages, parse_answer
from .models import (
    InsiResult,
    Mismatch,
    SearchOutcome,
    TraitsQuery,
    Verification,
    VitaleQuery,
)
from .settings import InsiSettings

__all__ = ["InsiClient"]

logger = logging.getLogger(__name__)


class InsiClient(HttpClient):
    """Client of the INSi teleservice, certificate (mutual TLS) mode.

    >>> client = InsiClient.from_settings(Settings.from_toml("segurlink.toml"))  # doctest: +SKIP
    >>> outcome = client.search(traits)  # doctest: +SKIP
    >>> outcome.identity.ins if outcome.found else outcome.result.label  # doctest: +SKIP

    ``session`` is injected or built from the settings (mutual TLS, the CA bundle,
    pooling, deadlines); a session the caller gives stays the caller's (:meth:`close`
    leaves it open). Every call has the configured finite timeouts. The client is
    thread-safe: it holds no per-call state.
    """

    service_name = "insi"

    def __init__(
        self,
        settings: InsiSettings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
    ) -> None:
        software = settings.require_software()
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
        self._clock = clock or time.time
        emitter = settings.emitter or certificate_ou(settings.tls)
        self.messages = InsiMessages(software, emitter=emitter, wsdl=settings.wsdl)
        self._transport = HttpTransport.for_service(
            self.service_name, "INSi", settings, session=session, log=log
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
    ) -> InsiClient:
        """A client for the ``[insi]`` section of ``settings``."""
        return cls(InsiSettings.from_settings(settings), session=session, log=log, clock=clock)

    def __repr__(self) -> str:
        return f"InsiClient(endpoint={self.settings.endpoint!r})"

    # -- single calls --------------------------------------------------------------------

    def search_once(self, query: TraitsQuery) -> tuple[InsiResult, str]:
        """One ``rechercherInsAvecTraitsIdentite`` call; returns the result and message id."""
        request = self.messages.search_by_traits(query, now=utc_datetime(self._clock))
        return self._call(request), request.message_id

    def search_with_vitale(self, query: VitaleQuery) -> InsiResult:
        """One ``rechercherInsAvecCarteVitale`` call with the data read on the card."""
        return self._call(self.messages.search_by_vitale(query, now=utc_datetime(self._clock)))

    # -- strategies ----------------------------------------------------------------------

    def search(self, traits: IdentityTraits, *, send_birth_place: bool = False) -> SearchOutcome:
        """Search the INS the way certified clients do (:func:`~segurlink.insi.search_strategy`).

        Each birth first name is sent in turn (one per call) until CR 00, then — when
        there are several and none was found — the whole list in one ``Prenom``. On CR
        02 the birth place is added if it was not sent. CR 01 is reported as is: an
        existing person may not be found, and segurlink does not guess.
        """
        return drive(search_strategy(traits, send_birth_place=send_birth_place), self.search_once)

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

    def _call(self, request: BuiltRequest) -> InsiResult:
        def read(answer: Answer) -> InsiResult:
            try:
                result = parse_answer(answer.content, expected_action=request.action)
            except InsiFault as fault:
                answer.record.outcome = f"{fault.subcode}/{fault.detail_code}"
                raise
            if answer.status != 200:
                raise HttpStatusError(
                    f"INSi answered HTTP {answer.status} with a result",
                    status=answer.status,
                    url=answer.url,
                )
            answer.record.outcome = result.code.value
            return result

        return self._transport.call(
            request.operation,
            "POST",
            self.settings.endpoint,
            read,
            content=request.body,
            headers={"Content-Type": request.content_type},
            shape=Shape.SOAP,
            message_id=request.message_id,
            log_content=request.body,
        )


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
                raise InputError("no certificate in the PKCS#12 file")
            cert = bundle.cert.certificate
        else:
            raise ConfigurationError("no client certificate configured")
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the client certificate: {exc}") from exc
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not ous:
        raise ConfigurationError("the client certificate has no OU; set insi.emitter explicitly")
    return str(ous[0].value)
