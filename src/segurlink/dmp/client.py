"""The DMP client: moves bytes between :mod:`segurlink.dmp.messages` and the DMP.

Every request carries a freshly signed VIHF for the patient concerned. Consistency is
checked before anything is sent; a deposit is idempotent from the caller's view (the
document uniqueId is the key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import requests
from lxml import etree

from .._audit import ExchangeLog
from .._clock import Clock, Sleep, utc_datetime
from .._flow import drive
from .._retry import RetryPolicy
from .._transport import Answer, HttpClient, HttpTransport, Shape
from ..cda.models import CdaHeader, Code
from ..config import Settings
from ..errors import (
    ConfigurationError,
    InputError,
    MalformedResponse,
    NotFound,
    TransportError,
)
from ..identity import IdentityRecord, Ins
from ..psc.models import ProfessionalIdentity
from . import messages as msg
from .flows import Lookup, Prepare, Submit, Wait, deposit_recovery
from .metadata import (
    DocumentEntryMetadata,
    SubmissionSetMetadata,
    XdsAuthor,
    default_associations,
    document_entry_from_header,
    patient_id_value,
    require_valid_metadata,
    signature_entry,
    submission_set_for,
    submit_objects_request,
    xcn,
    xon,
)
from .models import (
    APPROVED,
    ARCHIVED,
    DELETED,
    DEPRECATED,
    SIGNATURE_ARC,
    SUBMISSION_SET_ARC,
    Audience,
    DepositResult,
    DocumentEntry,
    PatientStatus,
    RetrievedDocument,
    current_version,
    new_oid,
)
from .mtom import MtomPart, build_mtom, parse_mtom
from .settings import DmpSettings
from .vihf import Signer, Vihf, certificate_ou, sign_vihf
from .xades import sign_submission_set

__all__ = ["DmpClient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The deposit's retry schedule after a broken exchange the DMP does not have: short
#: waits with full jitter (the caller's ``retries`` sets the attempts).
DEPOSIT_RETRY_INITIAL = 0.5
DEPOSIT_RETRY_MAXIMUM = 5.0


def _ins_from_patient_id(patient_id: str) -> Ins:
    value, _, rest = patient_id.partition("^^^&")
    oid = rest.partition("&")[0]
    try:
        return Ins(value[:13], value[13:], oid)
    except InputError as exc:
        raise MalformedResponse("the entry's patientId is not an INS") from exc


class DmpClient(HttpClient):
    """Client of the DMP (indirect mode: the structure's certificates).

    >>> client = DmpClient.from_settings(Settings.from_toml("segurlink.toml"))  # doctest: +SKIP
    >>> client.check(ins).can_deposit                                           # doctest: +SKIP
    True
    >>> result = client.deposit(cda_bytes)                                       # doctest: +SKIP

    ``professional`` (a :class:`segurlink.psc.ProfessionalIdentity`) makes the VIHF name
    that professional; without it the responsible person of the settings signs in. The
    client is thread-safe: it holds no per-call state.
    """

    service_name = "dmp"

    def __init__(
        self,
        settings: DmpSettings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        signer: Signer | None = None,
        professional: ProfessionalIdentity | None = None,
    ) -> None:
        self.settings = settings
        self._signer = signer or Signer.from_files(
            settings.signing_cert, settings.signing_key, settings.signing_key_password
        )
        self._check_structure_identity()
        self._transport = HttpTransport.for_service(
            self.service_name, "the DMP", settings, session=session, log=log, pool_maxsize=16
        )
        self._professional = professional
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        log: ExchangeLog | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        signer: Signer | None = None,
        professional: ProfessionalIdentity | None = None,
    ) -> DmpClient:
        """A client for the ``[dmp]`` section of ``settings``."""
        return cls(
            DmpSettings.from_settings(settings),
            session=session,
            log=log,
            clock=clock,
            sleep=sleep,
            signer=signer,
            professional=professional,
        )

    def _now(self) -> dt.datetime:
        return utc_datetime(self._clock)

    def __repr__(self) -> str:
        return f"DmpClient(endpoint={self.settings.endpoint!r}, mode={self.settings.mode!r})"

    # -- consistency ---------------------------------------------------------------------

    def _check_structure_identity(self) -> None:
        """VIHF structure id == signing certificate OU == TLS certificate OU."""
        expected = self.settings.structure_id
        signing_ou = self._signer.structure_id
        if signing_ou != expected:
            raise ConfigurationError(
                f"the DMP signing certificate is for structure {signing_ou}, "
                f"the settings say {expected} (structure FINESS)"
            )
        if self.settings.tls.cert is not None:
            try:
                tls_ou = certificate_ou(self.settings.tls.cert.read_bytes())
            except OSError as exc:
                raise ConfigurationError(f"cannot read the DMP TLS certificate: {exc}") from exc
            if tls_ou != expected:
                raise ConfigurationError(
                    f"the DMP TLS certificate is for structure {tls_ou}, "
                    f"the settings say {expected}"
                )

    # -- VIHF and transport --------------------------------------------------------------

    def vihf(self, ins: Ins, *, professional: ProfessionalIdentity | None = None) -> etree._Element:
        """A signed VIHF for a request about ``ins``."""
        professional = professional or self._professional
        issuer = self._signer.subject
        now = self._now()
        if professional is not None:
            vihf = Vihf.from_professional(
                self.settings, ins, professional, issuer=issuer, issue_instant=now
            )
        else:
            vihf = Vihf.for_responsible(self.settings, ins, issuer=issuer, issue_instant=now)
        return sign_vihf(vihf.to_element(), self._signer)

    def _request(
        self,
        action: str,
        ins: Ins,
        body: etree._Element,
        *,
        professional: ProfessionalIdentity | None = None,
    ) -> msg.BuiltRequest:
        service = msg.ACTIONS[action][0]
        return msg.envelope(
            action,
            self.settings.service_url(service),
            self.vihf(ins, professional=professional),
            body,
        )

    def _send(
        self,
        request: msg.BuiltRequest,
        read: Callable[[Answer], T],
        parts: Sequence[MtomPart] = (),
    ) -> T:
        """Send ``request`` (with its MTOM ``parts``) and ``read`` the answer."""
        if parts:
            data, ctype = build_mtom(request.envelope, parts, action=request.action)
        else:
            data = request.envelope
            ctype = f'application/soap+xml; charset=UTF-8; action="{request.action}"'
        return self._transport.call(
            msg.TRANSACTIONS[request.action],
            "POST",
            self.settings.service_url(request.service),
            read,
            content=data,
            headers={"Content-Type": ctype},
            shape=Shape.MTOM,
            message_id=request.message_id,
            log_content=request.envelope,
        )

    def _call(
        self,
        action: str,
        ins: Ins,
        body: etree._Element,
        read: Callable[[bytes], T],
        *,
        professional: ProfessionalIdentity | None = None,
        parts: Sequence[MtomPart] = (),
    ) -> T:
        """One transaction about ``ins``: ``read`` gets the answer's SOAP envelope."""

        def envelope(answer: Answer) -> T:
            answer.record.outcome = "ok"
            content = answer.content
            if answer.media_type.startswith("multipart/"):
                content = parse_mtom(content, answer.content_type).root
            return read(content)

        request = self._request(action, ins, body, professional=professional)
        return self._send(request, envelope, parts)

    # -- TD0.2 ---------------------------------------------------------------------------

    def check(self, ins: Ins) -> PatientStatus:
        """TD0.2: does the patient have a DMP, and is the structure authorised."""
        body = msg.patient_check_body(
            ins,
            self.settings.software,
            sender_oid=self.settings.source_oid,
            creation_time=self._now(),
        )
        return self._call(msg.TD02, ins, body, msg.parse_patient_check)

    # -- TD3.1 ---------------------------------------------------------------------------

    def find(
        self,
        ins: Ins,
        *,
        statuses: Sequence[str] = (APPROVED,),
        include_signatures: bool = False,
    ) -> tuple[DocumentEntry, ...]:
        """TD3.1 FindDocuments: the patient's entries with the given statuses."""
        body = msg.find_documents_body(patient_id_value(ins.value, ins.oid), statuses)
        entries = self._call(msg.ITI18, ins, body, msg.parse_query_response)
        return entries if include_signatures else tuple(e for e in entries if not e.is_signature)

    def get(
        self, ins: Ins, *, unique_id: str | None = None, entry_uuid: str | None = None
    ) -> DocumentEntry | None:
        """TD3.1 GetDocuments: the current version of one entry, by uniqueId or entryUUID.

        The registry returns every version of the entry (masking makes the earlier ones
        ``Deprecated``); this is the newest that is not deprecated — whatever its status
        (Approved, Archived, Deleted) — or, for a replaced document, its last version
        (status :data:`~segurlink.dmp.DEPRECATED`). ``None`` when the DMP has no such entry.
        """
        body = msg.get_documents_body(
            unique_ids=[unique_id] if unique_id else [],
            entry_uuids=[entry_uuid] if entry_uuid else [],
        )
        return current_version(self._call(msg.ITI18, ins, body, msg.parse_query_response))

    # -- TD3.2 ---------------------------------------------------------------------------

    def retrieve(
        self, ins: Ins, unique_id: str, *, repository_id: str | None = None
    ) -> RetrievedDocument:
        """TD3.2: the document's bytes (MTOM answer)."""
        repository = repository_id or self.settings.repository_id
        request = self._request(msg.ITI43, ins, msg.retrieve_body(repository, [unique_id]))
        documents = self._send(
            request,
            lambda answer: msg.parse_retrieve_response(
                parse_mtom(answer.content, answer.content_type)
            ),
        )
        for document in documents:
            if document.unique_id == unique_id:
                return document
        raise MalformedResponse("the DMP returned no document for the requested uniqueId")

    # -- TD2.1 ---------------------------------------------------------------------------

    def prepare_deposit(
        self,
        document: bytes,
        *,
        hidden_from: Iterable[Audience | str] = (),
        identity: IdentityRecord | None = None,
        replaces: str | None = None,
        content_type: Code | None = None,
        class_code: Code | None = None,
    ) -> tuple[
        Ins, SubmissionSetMetadata, list[DocumentEntryMetadata], etree._Element, list[MtomPart]
    ]:
        """Build (without sending) the ITI-41 content of a deposit, after every check.

        ``content_type`` (JDV_J59) defaults to the settings' ``content_type``. ``replaces``
        is the entryUUID of the replaced entry; :meth:`deposit` finds it from the CDA's
        ``relatedDocument`` (this method does not query the DMP).
        """
        header = _read_local_cda(document)
        ins = self._check_document(header, identity)
        parent = _replaced_unique_id(header)
        if (replaces is not None) != (parent is not None):
            raise InputError(
                "a replacement needs both the CDA's relatedDocument RPLC and the replaced "
                "entry's entryUUID"
                if parent is None
                else f"the CDA replaces {parent} (relatedDocument RPLC): give the entryUUID "
                "of that entry (DmpClient.deposit finds it)"
            )
        now = self._now()
        doc = document_entry_from_header(
            header,
            document,
            hidden_from=[a.value if isinstance(a, Audience) else a for a in hidden_from],
            class_code=class_code,
        )
        doc = _with_authors(doc, self._institution(header))
        ss = submission_set_for(
            [doc],
            unique_id=new_oid(self.settings.source_oid, SUBMISSION_SET_ARC),
            source_id=self.settings.source_oid,
            submission_time=now,
            content_type=content_type or self.settings.content_type,
        )
        signature_uid = new_oid(self.settings.source_oid, SIGNATURE_ARC)
        xades = sign_submission_set(self._signer, ss.unique_id, {doc.unique_id: document}, at=now)
        sig = signature_entry(ss, doc, unique_id=signature_uid, content=xades)
        vihf_pid = patient_id_value(ins.value, ins.oid)
        if not (vihf_pid == ss.patient_id == doc.patient_id):
            raise InputError("the INS differs between the VIHF, the metadata and the CDA")
        require_valid_metadata(ss, [doc, sig])
        associations = default_associations(
            ss,
            [doc, sig],
            replaces={doc.entry_id: replaces} if replaces else None,
            signature_id=sig.entry_id,
        )
        # The signature is a member too, but not a HasMember target of its own "signs".
        request = submit_objects_request(ss, [doc, sig], associations)
        parts = [
            MtomPart(f"{doc.entry_id}@segurlink", document, "text/xml"),
            MtomPart(f"{sig.entry_id}@segurlink", xades, "text/xml"),
        ]
        body = msg.provide_and_register_body(
            request, [(p.content_id.split("@")[0], p.content_id) for p in parts]
        )
        return ins, ss, [doc, sig], body, parts

    def deposit(
        self,
        document: bytes,
        *,
        hidden_from: Iterable[Audience | str] = (),
        identity: IdentityRecord | None = None,
        professional: ProfessionalIdentity | None = None,
        replaces: str | None = None,
        retries: int = 1,
        content_type: Code | None = None,
        class_code: Code | None = None,
    ) -> DepositResult:
        """TD2.1: deposit a CDA document — a new one, or a new version of one.

        A CDA whose header says ``relatedDocument typeCode="RPLC"`` replaces its parent
        document: the parent's current entry is found by its uniqueId (ITI-18) and the
        submission carries the RPLC association to it; ``replaces`` (an entryUUID) is only
        a cross-check. A parent the DMP does not have, or that is not an approved entry,
        is an :class:`InputError` before anything is sent.

        If the exchange breaks after sending (timeout, reset, truncated answer, HTTP 5xx),
        the document uniqueId is looked up with ITI-18 before retrying: when the DMP has it,
        the result says ``already_deposited`` and nothing is sent again
        (:func:`~segurlink.dmp.flows.deposit_recovery`; ``retries`` more attempts at most,
        after a short jittered wait). Depositing again a document the DMP already has
        (same uniqueId and bytes) says the same.
        """
        header = _read_local_cda(document)
        ins = self._check_document(header, identity)
        parent_uid = _replaced_unique_id(header)
        if parent_uid is None and replaces is not None:
            raise InputError(
                "replaces= is given but the CDA has no relatedDocument RPLC: the DMP refuses "
                "a replacement the document itself does not declare"
            )
        if parent_uid is not None:
            parent = self.get(ins, unique_id=parent_uid)
            if parent is None or parent.status != APPROVED:
                existing = self.get(ins, unique_id=header.id.xds_unique_id)
                if existing is not None and existing.hash in ("", _sha1(document)):
                    # This new version is already there (a re-run): nothing to send.
                    return DepositResult(existing.unique_id, "", True, replaces, 0, existing)
                state = "absent" if parent is None else parent.status_name.lower()
                raise InputError(
                    f"the CDA replaces document {parent_uid} (relatedDocument RPLC), which "
                    f"is {state} in this patient's DMP: only an approved entry of this "
                    "structure can be replaced"
                )
            if replaces is not None and replaces != parent.entry_uuid:
                raise InputError(
                    f"replaces={replaces} is not the current entry of the document the CDA "
                    f"replaces ({parent_uid}: {parent.entry_uuid})"
                )
            replaces = parent.entry_uuid
        unique_id = header.id.xds_unique_id
        prepared: list[tuple[Ins, etree._Element, list[MtomPart]]] = []

        def perform(step: Prepare | Submit | Lookup | Wait) -> object:
            if isinstance(step, Prepare):
                doc_ins, ss, _docs, body, parts = self.prepare_deposit(
                    document,
                    hidden_from=hidden_from,
                    identity=identity,
                    replaces=replaces,
                    content_type=content_type,
                    class_code=class_code,
                )
                prepared[:] = [(doc_ins, body, parts)]
                return ss.unique_id
            if isinstance(step, Submit):
                doc_ins, body, parts = prepared[0]
                try:
                    return self._call(
                        msg.ITI41,
                        doc_ins,
                        body,
                        lambda b: msg.parse_registry_response(
                            b, expected_action=msg.ACTIONS[msg.ITI41][1]
                        ),
                        professional=professional,
                        parts=parts,
                    )
                except TransportError as exc:
                    logger.info("DMP deposit interrupted (%s)", type(exc).__name__)
                    raise
            if isinstance(step, Lookup):
                return self.get(ins, unique_id=step.unique_id)
            self._sleep(step.seconds)
            return None

        policy = RetryPolicy(
            initial=DEPOSIT_RETRY_INITIAL,
            maximum=DEPOSIT_RETRY_MAXIMUM,
            max_attempts=max(retries, 0) + 1,
        )
        return drive(
            deposit_recovery(unique_id, _sha1(document), replaces=replaces, policy=policy),
            perform,
        )

    def replace(
        self,
        document: bytes,
        *,
        hidden_from: Iterable[Audience | str] = (),
        identity: IdentityRecord | None = None,
        professional: ProfessionalIdentity | None = None,
        replaces: str | None = None,
        retries: int = 1,
        content_type: Code | None = None,
        class_code: Code | None = None,
    ) -> DepositResult:
        """Deposit a new version, refusing a CDA that is not one (no ``relatedDocument``).

        :meth:`deposit` does the replacement itself for any CDA that declares it; this
        method only adds the check that the document *is* a replacement.
        """
        if _replaced_unique_id(_read_local_cda(document)) is None:
            raise InputError("a replacement CDA needs relatedDocument typeCode='RPLC'")
        return self.deposit(
            document,
            hidden_from=hidden_from,
            identity=identity,
            professional=professional,
            replaces=replaces,
            retries=retries,
            content_type=content_type,
            class_code=class_code,
        )

    # -- TD3.3 ---------------------------------------------------------------------------

    def _admin_submission_set(self, entry: DocumentEntry) -> SubmissionSetMetadata:
        author = XdsAuthor(
            xcn(
                self.settings.responsible.national_id,
                self.settings.responsible.family,
                self.settings.responsible.given,
            ),
            (xon(self.settings.structure_name, self.settings.structure_id),),
        )
        return SubmissionSetMetadata(
            unique_id=new_oid(self.settings.source_oid, SUBMISSION_SET_ARC),
            source_id=self.settings.source_oid,
            submission_time=self._now().strftime("%Y%m%d%H%M%S"),
            patient_id=entry.patient_id,
            authors=(author,),
            content_type=self.settings.content_type,
            title=entry.title,
        )

    def _update(self, entry: DocumentEntry, body: etree._Element) -> None:
        ins = _ins_from_patient_id(entry.patient_id)
        self._call(
            msg.ITI57,
            ins,
            body,
            lambda b: msg.parse_registry_response(b, expected_action=msg.ACTIONS[msg.ITI57][1]),
        )

    def current(self, entry: DocumentEntry) -> DocumentEntry:
        """The current version of ``entry`` in the DMP (ITI-18 by its uniqueId).

        Masking creates a new version and archiving changes a status: an entry read
        earlier may be stale. Every lifecycle method acts on this current version.
        """
        ins = _ins_from_patient_id(entry.patient_id)
        found = self.get(ins, unique_id=entry.unique_id)
        if found is None:
            raise NotFound(f"the DMP has no entry with uniqueId {entry.unique_id}")
        return found

    def set_status(self, entry: DocumentEntry, new_status: str) -> None:
        """TD3.3c/d: UpdateAvailabilityStatus of the entry's current version.

        Allowed: Approved → Archived, Archived → Approved, Approved or Archived → Deleted;
        anything else is an :class:`InputError` and nothing is sent.
        """
        current = self.current(entry)
        if (current.status, new_status) not in _TRANSITIONS:
            raise InputError(
                f"cannot make the entry {new_status.rsplit(':', 1)[-1]}: "
                + _state_sentence(current)
            )
        ss = self._admin_submission_set(current)
        self._update(
            current,
            msg.update_status_body(ss, current.entry_uuid, current.status, new_status),
        )

    def archive(self, entry: DocumentEntry) -> None:
        """Archive an approved entry (TD3.3d)."""
        self.set_status(entry, ARCHIVED)

    def unarchive(self, entry: DocumentEntry) -> None:
        """Bring an archived entry back to Approved."""
        self.set_status(entry, APPROVED)

    def delete(self, entry: DocumentEntry) -> None:
        """Delete an entry, approved or archived (TD3.3c)."""
        self.set_status(entry, DELETED)

    def set_visibility(self, entry: DocumentEntry, hidden_from: Iterable[Audience]) -> None:
        """Make the entry hidden from exactly ``hidden_from`` (a new metadata version).

        Acts on the current version; nothing is sent when its codes already say so. A
        deleted or replaced entry is an :class:`InputError`.
        """
        self._set_visibility(self.current(entry), frozenset(hidden_from))

    def _set_visibility(self, current: DocumentEntry, hidden_from: frozenset[Audience]) -> None:
        if current.status not in (APPROVED, ARCHIVED):
            raise InputError("cannot change who sees the entry: " + _state_sentence(current))
        if current.hidden_from == hidden_from:
            return
        base = [c for c in current.confidentiality if c in ("N", "R", "V")] or ["N"]
        codes = base + [a.value for a in Audience if a in hidden_from]
        ss = self._admin_submission_set(current)
        self._update(current, msg.visibility_update_body(ss, current, codes))

    def hide(self, entry: DocumentEntry, audience: Audience = Audience.PROFESSIONALS) -> None:
        """Hide an entry from professionals, the patient or legal representatives."""
        current = self.current(entry)
        self._set_visibility(current, current.hidden_from | {audience})

    def unhide(self, entry: DocumentEntry, audience: Audience = Audience.PROFESSIONALS) -> None:
        """Undo :meth:`hide` for one audience."""
        current = self.current(entry)
        self._set_visibility(current, current.hidden_from - {audience})

    # -- checks --------------------------------------------------------------------------

    def _check_document(self, header: CdaHeader, identity: IdentityRecord | None) -> Ins:
        ins = header.patient.ins
        if ins is None:
            raise InputError("the CDA carries no INS: only a qualified identity goes to the DMP")
        if identity is not None:
            shared = identity.shareable_ins()  # raises unless QUAL
            if (shared.value, shared.oid) != (ins.value, ins.oid):
                raise InputError("the INS of the CDA differs from the patient's qualified INS")
        for author in header.authors:
            org = author.organization
            if org is None or org.id.extension != self.settings.structure_id:
                raise InputError(
                    "the CDA author's organisation is not the structure of the certificates "
                    f"({self.settings.structure_id})"
                )
        return ins

    def _institution(self, header: CdaHeader) -> str:
        name = ""
        for author in header.authors:
            if author.organization is not None and author.organization.name:
                name = author.organization.name
                break
        return xon(name or self.settings.structure_name, self.settings.structure_id)


def _with_authors(doc: DocumentEntryMetadata, institution: str) -> DocumentEntryMetadata:
    """Every author of the entry with the same authorInstitution (the DMP compares them)."""
    from dataclasses import replace

    authors = tuple(replace(a, institutions=(institution,)) for a in doc.authors) or (
        XdsAuthor("", (institution,)),
    )
    return replace(doc, authors=authors)


#: UpdateAvailabilityStatus transitions the DMP allows (TD3.3c/d).
_TRANSITIONS = frozenset(
    {(APPROVED, ARCHIVED), (ARCHIVED, APPROVED), (APPROVED, DELETED), (ARCHIVED, DELETED)}
)


def _state_sentence(entry: DocumentEntry) -> str:
    if entry.status == DEPRECATED:
        return f"document {entry.unique_id} was replaced by a newer version"
    return f"document {entry.unique_id} is {entry.status_name.lower()}"


def _read_local_cda(document: bytes) -> CdaHeader:
    """The header of a CDA the caller gives: unreadable bytes are an :class:`InputError`."""
    from ..cda import parse_header

    if not isinstance(document, bytes | bytearray):
        raise InputError(f"the document to deposit must be bytes, not {type(document).__name__}")
    try:
        return parse_header(bytes(document))
    except MalformedResponse as exc:  # not well-formed, DOCTYPE refused, empty...
        raise InputError(f"the document to deposit is not a readable CDA: {exc.message}") from exc


def _replaced_unique_id(header: CdaHeader) -> str | None:
    """The uniqueId of the document this CDA replaces (``relatedDocument`` RPLC), if any."""
    parent = header.parent_document
    if parent is None:
        return None
    if header.relation not in (None, "RPLC"):
        raise InputError(
            f"relatedDocument typeCode={header.relation!r}: the DMP takes replacements (RPLC) only"
        )
    return parent.id.xds_unique_id


def _sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - the XDS hash is SHA-1
