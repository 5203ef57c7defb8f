"""``segurlink demo``: a resident's admission, end to end, against the mocks.

The story a DUI lives, one step per national service:

1. ``login``: a nurse of the structure logs in with Pro Santé Connect (authorization code
   flow with PKCE; the mock approves at once, as the professional named by ``login_hint``);
2. ``identity``: the resident's INS is searched and verified with INSi, and the identity
   becomes qualified (RNIV ``PROV`` → ``RECUP`` → ``QUAL``);
3. ``document``: a projet personnalisé d'accompagnement (level-1 CDA with a PDF body) is
   built and validated (header rules always; XSD and schematrons when a CI-SIS kit is
   configured);
4. ``dmp``: it is queued in the outbox (SQLite, in a temporary directory), deposited in the
   DMP by an outbox worker, and found back in the DMP;
5. ``mssante``: it is queued in the outbox and sent by MSSanté (the structure's APP
   mailbox) to the resident's own mailbox and to the attending doctor, and the receipts
   (MDN, DSN) are read back;
6. ``ror``: the structure's capacity (available places for women: one fewer) is queued in
   the outbox, published to the ROR, and read back.

Without ``--config`` the mocks run in this process (their PKI in a temporary directory);
with ``--config`` the story runs against the mocks that settings file points at
(``segurlink mock serve``). Its people are the mocks' test data: against real services the
first step stops. Log lines name steps and durations, never a person or an INS; what the
story prints on stdout is the user's own output.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..cli import CommandResult, load_settings

if TYPE_CHECKING:
    from ..cda import CdaSettings, ClinicalDocument, Professional
    from ..config import Settings
    from ..errors import RecipientRefusal
    from ..identity import IdentityRecord, Ins
    from ..mssante import Draft, MssClient
    from ..outbox import Job, Outbox
    from ..psc import PscClient, PscLogin

__all__ = [
    "ATTENDING_DOCTOR",
    "NURSE",
    "RESIDENT",
    "ROR_LOCATION",
    "AdmissionStory",
    "Step",
    "register",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: What a step's action returns: the value the next steps use, title, lines, JSON data.
_Outcome = tuple[T, str, list[str], dict[str, Any]]

#: The PSC mock's Claire INFIRMIERE-TEST, a nurse of the mocks' structure (its legal
#: entity is the FINESS of the mocks' settings).
NURSE = "810009876543"
#: The resident: an INSi test person the DMP mock knows, whose DMP accepts the structure.
RESIDENT: Mapping[str, str] = {
    "birth_name": "ADRTROIS",
    "first_names": "DOMINIQUE",
    "sex": "F",
    "birth_date": "1997-02-26",
    "birth_place": "2A020",
}
#: The attending doctor's MSSanté mailbox: Dr Paul MEDECIN-TEST's, on the MSSanté mock.
ATTENDING_DOCTOR = "paul.medecin-test@segurlink-test.mssante.fr"
ATTENDING_DOCTOR_NAME = "Dr Paul MEDECIN-TEST"
#: The ROR mock's test EHPAD (LES TILLEULS, FINESS 450000088): the mocks' structure has no
#: location in the ROR mock's offer, so the capacity goes to this one.
ROR_LOCATION = "1450000088/UF1234"
#: The DUI's namespace of resident numbers (IPP): an OID of the test arc.
IPP_ROOT = "1.2.250.1.999.1.1.2"
#: Receipts are awaited this long (the mock answers at once; a real operator may not).
RECEIPT_WAIT = 5.0

_PROFESSIONS = {"10": "Médecin", "21": "Pharmacien", "60": "Infirmier"}
# The indicator the admission changes: available (02) places (02) for women (01), current.
_PLACES_FOR_WOMEN = {"capacity_type": "02", "status": "02", "gender": "01", "temporality": "01"}


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    demo = groups.add_parser(
        "demo",
        parents=[common],
        help="a resident's admission against the mocks, step by step: PSC login, INSi, "
        "CDA, DMP deposit through the outbox, MSSanté, ROR capacity (started in-process; "
        "--config: the mocks of that settings file)",
    )
    demo.set_defaults(handler=_demo)


# -- the command -----------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> CommandResult:
    started = time.perf_counter()
    show = None if args.json else _print_step
    with tempfile.TemporaryDirectory(prefix="segurlink-demo-") as tmp:
        workdir = Path(tmp)
        with _mocks(args, workdir) as (settings, where):
            story = AdmissionStory(settings, workdir, on_step=show)  # settings checked here
            if show is not None:
                print(f"segurlink demo: a resident's admission, against {where}\n", flush=True)
            steps = story.run()
    seconds = round(time.perf_counter() - started, 2)
    data = {"mocks": where, "seconds": seconds, "steps": [s.to_json() for s in steps]}
    return CommandResult(data=data, text=f"\ndone in {seconds:.1f} s")


@contextlib.contextmanager
def _mocks(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[Settings, str]]:
    """The settings of ``--config``, or of mocks started here for the story's length."""
    if getattr(args, "config", None) is not None:
        yield load_settings(args), f"the mocks of {args.config}"
        return
    from segurlink_mocks.stack import MockStack

    if not args.json:
        print("starting the mocks in this process...", flush=True)
    with MockStack(tmp / "mocks") as stack:
        yield stack.settings(), "mocks started in this process"


def _print_step(step: Step) -> None:
    print(f"{step.number}. {step.title}", flush=True)
    for line in step.lines:
        print(f"   {line}", flush=True)


# -- the story -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the story: its name, a one-line title, details, and its data."""

    number: int
    name: str
    title: str
    lines: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 2),
            **self.data,
        }


class AdmissionStory:
    """The six steps against the services of ``settings``; ``workdir`` holds the outbox.

    ``on_step`` is called with each step once it is done. A step that fails raises the
    segurlink error that says why; the steps after it do not run.
    """

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        *,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        self.settings = settings
        self.workdir = workdir
        self.on_step = on_step
        self.steps: list[Step] = []
        self.cda_settings = self._check_settings()

    def _check_settings(self) -> CdaSettings:
        """Every service's settings, read before the first exchange (exit 2 when wrong)."""
        from ..dmp import DmpSettings
        from ..errors import ConfigurationError
        from ..insi import InsiSettings
        from ..mssante import MssSettings
        from ..psc import PscSettings
        from ..ror import RorSettings

        if self.settings.structure is None:
            raise ConfigurationError("the demo needs the structure's [structure] finess")
        for typed in (PscSettings, InsiSettings, DmpSettings, MssSettings, RorSettings):
            typed.from_settings(self.settings)
        return _cda_settings(self.settings)

    @property
    def finess(self) -> str:
        structure = self.settings.structure
        assert structure is not None  # checked by _check_settings
        return structure.finess

    def run(self) -> list[Step]:
        from ..outbox import Outbox
        from ..psc import PscClient

        with (
            PscClient.from_settings(self.settings) as psc,
            Outbox.open(str(self.workdir / "outbox.sqlite3")) as outbox,
        ):
            login = self._step("login", lambda: self.login(psc))
            record = self._step("identity", self.qualify_identity)
            document = self._step("document", lambda: self.build_document(login, record))
            self._step("dmp", lambda: self.deposit(outbox, document, record.shareable_ins(), login))
            self._step("mssante", lambda: self.send(outbox, document, record, psc, login))
            self._step("ror", lambda: self.publish_capacity(outbox))
        return self.steps

    def _step(self, name: str, action: Callable[[], _Outcome[T]]) -> T:
        started = time.perf_counter()
        logger.info("demo step %s", name)
        value, title, lines, data = action()
        step = Step(
            len(self.steps) + 1, name, title, tuple(lines), data, time.perf_counter() - started
        )
        logger.info("demo step %s done in %.2f s", name, step.seconds)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return value

    # -- 1. Pro Santé Connect ----------------------------------------------------------------

    def login(self, psc: PscClient) -> _Outcome[PscLogin]:
        """The code flow with PKCE; the "browser" follows the authorization URL once."""
        from .._http import build_session, request_errors
        from ..errors import ConfigurationError, HttpStatusError, OidcError

        request = psc.authorization_request(extra={"login_hint": NURSE})
        settings = psc.settings
        with build_session(settings.tls, settings.timeouts, limits=settings.limits) as browser:
            with request_errors(request.url):
                answer = browser.get(
                    request.url, allow_redirects=False, timeout=settings.timeouts.as_tuple
                )
            status, callback = answer.status_code, answer.headers.get("Location", "")
        if status == 200:
            raise ConfigurationError(
                "the PSC provider showed its login page: the demo needs the mocks' automatic "
                "approval (`segurlink mock serve` without --psc-login-page)"
            )
        if status not in (302, 303) or not callback:
            raise HttpStatusError(
                f"the PSC authorization endpoint answered HTTP {status} without a redirect",
                status=status,
                url=request.url,
            )
        login = psc.finish_login(callback, request)
        identity = login.identity
        if identity is None or identity.rpps is None:
            raise OidcError("the professional has no RPPS identity", error="missing_claim")
        exercice = identity.exercices[0] if identity.exercices else None
        profession = (exercice.profession if exercice else None) or ""
        here = next(
            (a for a in identity.activities if a.finess_legal_entity == self.finess),
            None,
        )
        name = f"{identity.given_name or ''} {identity.family_name or ''}".strip()
        means = "CPS card" if login.claims.auth_mode == "CARD" else "e-CPS"
        works_at = (
            f"{here.name or 'the structure'} (site FINESS {here.finess_site}, legal entity "
            f"{here.finess_legal_entity})"
            if here is not None
            else f"no activity at the structure {self.finess}"
        )
        lines = [
            f"{_PROFESSIONS.get(profession, 'profession ' + profession).lower()}, RPPS "
            f"{identity.rpps}: {works_at}",
            f"id_token checked (acr {login.claims.acr}), UserInfo read",
        ]
        data = {
            "national_id": identity.national_id,
            "rpps": identity.rpps,
            "name": name,
            "profession": profession,
            "acr": login.claims.acr,
            "auth_mode": login.claims.auth_mode,
            "works_at_structure": here is not None,
            "activity": None
            if here is None
            else {
                "name": here.name,
                "finess_site": here.finess_site,
                "finess_legal_entity": here.finess_legal_entity,
            },
        }
        return login, f"Pro Santé Connect: {name} logged in ({means})", lines, data

    # -- 2. INSi and the identity's status ---------------------------------------------------

    def qualify_identity(self) -> _Outcome[IdentityRecord]:
        from ..errors import NotFound, ServiceError
        from ..identity import IdDocumentKind, IdentityRecord, IdentityTraits
        from ..insi import InsiClient

        traits = IdentityTraits.from_input(**RESIDENT)
        record = IdentityRecord(traits)
        statuses = [record.status.value]
        with InsiClient.from_settings(self.settings) as insi:
            outcome = insi.search(traits)
            if outcome.identity is None:
                raise NotFound(
                    f"INSi found no single INS for the resident: CR {outcome.result.code.value} "
                    f"{outcome.result.label}"
                )
            found = outcome.identity
            record = record.with_insi_result(found.ins, found.traits, found.previous_ins)
            statuses.append(record.status.value)
            # The identity document seen at admission is of high trust: the identity is QUAL.
            record = record.with_id_document(IdDocumentKind.PASSPORT)
            statuses.append(record.status.value)
            ins = record.shareable_ins()
            verification = insi.verify(ins, record.traits)
        if not verification.ok:
            fields = ", ".join(m.field for m in verification.mismatches)
            raise ServiceError(f"INSi does not confirm the resident's INS ({fields} differ)")
        t = record.traits
        name = f"{t.birth_name} {t.first_names_text}"
        lines = [
            f"search: CR {outcome.result.code.value} {outcome.result.label} "
            f"({len(outcome.attempts)} call(s)); verification: OK "
            f"({len(verification.outcome.attempts)} call(s))",
            f"INS {ins.value} (OID {ins.oid}), MSSanté address {ins.mssante_address}",
            "status " + " -> ".join(statuses) + " (INSi result, then the passport seen)",
        ]
        data = {
            "search": {
                "code": outcome.result.code.value,
                "label": outcome.result.label,
                "calls": len(outcome.attempts),
            },
            "verified": True,
            "statuses": statuses,
            "ins": ins.value,
            "ins_oid": ins.oid,
            "mssante_address": ins.mssante_address,
        }
        return record, f"INSi: {name}'s identity qualified", lines, data

    # -- 3. the CDA document -----------------------------------------------------------------

    def build_document(self, login: PscLogin, record: IdentityRecord) -> _Outcome[bytes]:
        from ..cda import Validator, build_document, parse_header

        plan = self._care_plan(login, record)
        document = build_document(plan)
        report = Validator(self.cda_settings).validate(document)
        report.raise_for_errors()
        header = parse_header(document)
        kit = self.cda_settings.kit
        if kit is None:
            checked = (
                "segurlink's header rules only: no CI-SIS kit configured (SEGURLINK_CISIS_KIT "
                "or [cda] kit) for the XSD and the schematrons"
            )
        else:
            checked = f"header rules, XSD, {len(report.schematrons)} schematron(s) of {kit}"
        lines = [
            f"level 1: a PDF of {len(plan.body.content)} bytes in a CDA of {len(document)} "
            f"bytes, uniqueId {header.id.xds_unique_id}",
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s): {checked}",
        ]
        data = {
            "type": plan.document_type.key,
            "type_code": plan.document_type.code.code,
            "unique_id": header.id.xds_unique_id,
            "bytes": len(document),
            "pdf_bytes": len(plan.body.content),
            "validation": {
                "ok": report.ok,
                "layers": list(report.layers),
                "schematrons": list(report.schematrons),
                "errors": len(report.errors),
                "warnings": len(report.warnings),
                "kit": None if kit is None else str(kit),
            },
        }
        title = f"CDA: {plan.document_type.display_name} built and validated"
        return document, title, lines, data

    def _care_plan(self, login: PscLogin, record: IdentityRecord) -> ClinicalDocument:
        from ..cda import (
            Attachment,
            Author,
            ClinicalDocument,
            Encounter,
            InstanceId,
            LegalAuthenticator,
            Organization,
            Patient,
            ServiceEvent,
            confidentiality,
            document_type,
            facility_type,
            practice_setting,
        )

        structure = self.settings.structure
        assert structure is not None
        now = dt.datetime.now(dt.UTC).astimezone().replace(microsecond=0)
        ehpad = Organization.from_finess(structure.finess, structure.name)
        nurse = _professional(login)
        kind = document_type("PPA")
        pdf = _pdf(
            [
                kind.display_name,
                structure.name or f"FINESS {structure.finess}",
                f"Etabli le {now:%d/%m/%Y} par {nurse.name.given[0]} {nurse.name.family}",
                "Document de demonstration de segurlink (donnees fictives)",
            ]
        )
        return ClinicalDocument(
            document_type=kind,
            id=InstanceId.new(),
            set_id=InstanceId.new(),
            effective_time=now,
            patient=Patient(record, (InstanceId(IPP_ROOT, "IPP-DEMO-0001"),)),
            authors=(Author(now, ehpad, professional=nurse),),
            custodian=ehpad,
            legal_authenticator=LegalAuthenticator(now, nurse),
            service_event=ServiceEvent(
                start=now,
                end=now,
                practice_setting=practice_setting("ESSMS"),
                performer=nurse,
                organization=ehpad,
            ),
            encounter=Encounter(start=now, facility_type=facility_type("SA17"), facility=ehpad),
            body=Attachment(pdf),
            confidentiality=confidentiality("N"),
        )

    # -- 4. the DMP, through the outbox ------------------------------------------------------

    def deposit(self, outbox: Outbox, document: bytes, ins: Ins, login: PscLogin) -> _Outcome[None]:
        from ..cda import parse_header
        from ..dmp import DmpClient
        from ..errors import NotFound

        unique_id = parse_header(document).id.xds_unique_id
        queued = outbox.deposit(document, structure=self.finess)
        job = _deliver(outbox, self.settings, queued.job_id, "the DMP deposit")
        # Read back as the professional who logged in: the VIHF names her.
        with DmpClient.from_settings(self.settings, professional=login.identity) as dmp:
            entry = dmp.get(ins, unique_id=unique_id)
            entries = dmp.find(ins)
        if entry is None:
            raise NotFound(f"the DMP has no document {unique_id} after its deposit")
        already = bool((job.result or {}).get("already_deposited"))
        reader = (
            f"{login.identity.given_name} {login.identity.family_name}" if login.identity else ""
        )
        lines = [
            f"queued (outbox job {job.id}), delivered by a worker in {job.attempts} attempt(s)"
            + (" (the DMP already had it)" if already else ""),
            f"found back by {reader}: {entry.status_name}; the resident's DMP holds "
            f"{len(entries)} document(s) of the structure",
        ]
        data = {
            "job": _job_json(job),
            "found": {"unique_id": entry.unique_id, "status": entry.status_name},
            "documents": len(entries),
        }
        return None, "DMP: the document deposited through the outbox", lines, data

    # -- 5. MSSanté ------------------------------------------------------------------------

    def send(
        self,
        outbox: Outbox,
        document: bytes,
        record: IdentityRecord,
        psc: PscClient,
        login: PscLogin,
    ) -> _Outcome[None]:
        """Send the document: from the structure's APP mailbox it is queued in ``outbox``
        and sent by a worker; from a personal mailbox (a PSC session) the client sends it
        (see :func:`_send_mail`)."""
        from ..errors import MssError, ServiceError
        from ..mssante import Draft, MssClient, MssSettings

        tokens = None
        if MssSettings.from_settings(self.settings).auth != "EXTERNAL":
            # A personal or organisation mailbox opens with the professional's PSC token.
            tokens = psc.token_provider(login.tokens)
        with MssClient.from_settings(self.settings, tokens=tokens) as mss:
            draft = Draft(
                sender=mss.settings.address,
                to=(ATTENDING_DOCTOR,),
                documents=(document,),
                # The resident's own address comes from the QUAL INS the CDA carries.
                patient_from_document=True,
                text=(
                    "Bonjour,\n\nVeuillez trouver ci-joint le projet personnalisé "
                    "d'accompagnement établi à l'admission.\n"
                ),
            )
            sent = _send_mail(outbox, self.settings, mss, draft, structure=self.finess)
            recipients = (ATTENDING_DOCTOR, record.shareable_ins().mssante_address)
            receipts = _await_receipts(mss, sent.message_id, sent.accepted)
        if sent.accepted < len(recipients):
            raise MssError(
                f"the operator accepted {sent.accepted} of {len(recipients)} recipients",
                refused=sent.refused,
            )
        patient = recipients[1].lower()
        missing = {a.lower() for a in recipients} - {r.recipient.lower() for r in receipts}
        if missing:
            raise ServiceError(
                f"no receipt from {len(missing)} recipient(s) within {RECEIPT_WAIT:g} s"
            )
        refused = [r for r in receipts if not r.ok]
        if refused:
            raise MssError(
                f"{len(refused)} negative receipt(s); first: {refused[0].kind.value} "
                f"{_outcome(refused[0])}"
            )

        def who(address: str) -> str:
            if address.lower() == patient:
                return f"the resident ({address})"
            if address.lower() == ATTENDING_DOCTOR:
                return f"{ATTENDING_DOCTOR_NAME} ({address})"
            return address

        how = (
            "sent with the MSSanté client"
            if sent.job is None
            else f"queued (outbox job {sent.job.id}), sent by a worker"
        )
        lines = [
            f"Message-ID {sent.message_id}, {how}",
            *(f"to {who(a)}" for a in recipients),
            *(f"{r.kind.value.upper()} from {who(r.recipient)}: {_outcome(r)}" for r in receipts),
        ]
        data = {
            "via": "client" if sent.job is None else "outbox",
            "message_id": sent.message_id,
            "recipients": list(recipients),
            "accepted": sent.accepted,
            "job": None if sent.job is None else _job_json(sent.job),
            "receipts": [
                {
                    "kind": r.kind.value,
                    "recipient": r.recipient,
                    "ok": r.ok,
                    "disposition": r.disposition,
                    "action": r.action,
                    "status": r.status,
                }
                for r in receipts
            ],
        }
        title = "MSSanté: sent to the resident and to the attending doctor, receipts read"
        return None, title, lines, data

    # -- 6. ROR ----------------------------------------------------------------------------

    def publish_capacity(self, outbox: Outbox) -> _Outcome[None]:
        from ..ror import CapacityUpdate, RorClient

        with RorClient.from_settings(self.settings) as ror:
            before = _places_for_women(ror)
            update = CapacityUpdate(
                count=max(before - 1, 0), updated=dt.datetime.now(dt.UTC), **_PLACES_FOR_WOMEN
            )
            queued = outbox.publish_capacity(ROR_LOCATION, update, structure=self.finess)
            job = _deliver(outbox, self.settings, queued.job_id, "the ROR capacity publication")
            after = _places_for_women(ror)
        if after != update.count:
            from ..errors import ServiceError

            raise ServiceError(
                f"the ROR shows {after} available place(s) for women, not the {update.count} "
                "published"
            )
        lines = [
            f"location {ROR_LOCATION} (the ROR mock's test EHPAD: the mocks' structure has "
            "no ROR location of its own)",
            f"available places for women: {before} -> {update.count}, queued (outbox job "
            f"{job.id}), published ({(job.result or {}).get('status', '?')}), read back "
            f"{after}",
        ]
        data = {
            "location": ROR_LOCATION,
            "indicator": dict(_PLACES_FOR_WOMEN),
            "before": before,
            "published": update.count,
            "read_back": after,
            "job": _job_json(job),
        }
        return None, "ROR: the admission's place published and read back", lines, data


# -- helpers ---------------------------------------------------------------------------------


def _cda_settings(settings: Settings) -> CdaSettings:
    """The kit of ``[cda]`` in the settings, else of ``SEGURLINK_CISIS_KIT`` (or none)."""
    from ..cda import CdaSettings

    if settings.section("cda"):
        return CdaSettings.from_settings(settings)
    return CdaSettings.from_env()


def _professional(login: PscLogin) -> Professional:
    """The CDA author from the PSC identity: RPPS, exercice name, profession (JDV_J01)."""
    from ..cda import PersonName, Professional
    from ..cda.codes import PROFESSION
    from ..cda.models import Code

    identity = login.identity
    assert identity is not None and identity.rpps is not None  # checked at login
    exercice = identity.exercices[0] if identity.exercices else None
    profession = (exercice.profession if exercice else None) or ""
    family = (exercice.last_name if exercice else None) or identity.family_name or ""
    given = (exercice.first_name if exercice else None) or identity.given_name or ""
    return Professional(
        identity.rpps,
        PersonName(family, (given,) if given else ()),
        Code(f"G15_{profession}", PROFESSION, _PROFESSIONS.get(profession, "")),
    )


def _deliver(outbox: Outbox, settings: Settings, job_id: int, what: str) -> Job:
    """Run one worker over what is due; the job done, or the error that kept it."""
    from ..errors import ServiceError, TransportError
    from ..outbox import JobState, WorkerPool

    WorkerPool(outbox.store, settings, workers=1).run(once=True)
    job = outbox.job(job_id)
    if job.state is JobState.DONE:
        return job
    if job.state is JobState.DEAD:
        raise ServiceError(f"{what} was refused (outbox job {job.id} is dead): {job.last_error}")
    raise TransportError(
        f"{what} did not complete (outbox job {job.id} waits for its retry): {job.last_error}"
    )


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "attempts": job.attempts,
        "result": dict(job.result or {}),
    }


@dataclass(frozen=True, slots=True)
class _Sent:
    """What sending gave: the Message-ID, how many recipients the operator accepted, the
    refused ones, and the outbox job when a worker sent it."""

    message_id: str
    accepted: int
    refused: tuple[RecipientRefusal, ...] = ()
    job: Job | None = None


def _send_mail(
    outbox: Outbox, settings: Settings, mss: MssClient, draft: Draft, *, structure: str
) -> _Sent:
    """Send ``draft``. The structure's APP mailbox (certificate) sends from the outbox, as
    the deposit: the message is queued (``mssante.send``, its Message-ID derived from the
    document's id, so a re-run finds the same job) and a worker sends it. A personal or
    organisation mailbox logs in with the professional's PSC session, which belongs to
    that person and not to a background worker: the client sends it directly."""
    if mss.settings.auth != "EXTERNAL":
        sent = mss.send(draft)
        return _Sent(sent.message_id, len(sent.accepted), sent.refused)
    from ..cda import parse_header

    document_id = parse_header(draft.documents[0]).id
    key = f"segurlink-demo:{document_id.root}:{document_id.extension or ''}"
    queued = outbox.send_mail(draft, key=key, structure=structure)
    job = _deliver(outbox, settings, queued.job_id, "the MSSanté message")
    result = dict(job.result or {})
    refused = tuple(
        RecipientRefusal("", int(r["code"]), str(r.get("status") or ""))
        for r in result.get("refused", ())
    )
    return _Sent(str(result["message_id"]), int(result["accepted"]), refused, job)


def _await_receipts(mss: MssClient, message_id: str, expected: int) -> Sequence[Any]:
    """The receipts of ``message_id``, once ``expected`` arrived or after RECEIPT_WAIT s."""
    deadline = time.monotonic() + RECEIPT_WAIT
    while True:
        receipts = mss.status(message_id).receipts
        if len({r.recipient.lower() for r in receipts}) >= expected:
            return receipts
        if time.monotonic() >= deadline:
            return receipts
        time.sleep(0.2)


def _outcome(receipt: Any) -> str:
    """What a receipt says: an MDN's disposition (``processed``), a DSN's action."""
    if receipt.error is not None:
        return f"error {receipt.error.code} {receipt.error.label}"
    if receipt.disposition:
        return str(receipt.disposition).rsplit(";", 1)[-1].strip()
    return " ".join(part for part in (receipt.action, receipt.status) if part)


def _places_for_women(ror: Any) -> int:
    """The count of the indicator the admission changes at :data:`ROR_LOCATION`."""
    from ..errors import NotFound

    location = ror.locations(identifier=ROR_LOCATION, max_pages=1).first()
    if location is None:
        raise NotFound(f"the ROR has no location {ROR_LOCATION}")
    for capacity in location.capacities:
        codes = {
            "capacity_type": capacity.capacity_type,
            "status": capacity.status,
            "gender": capacity.gender,
            "temporality": capacity.temporality,
        }
        if all(
            coding is not None and coding.code == _PLACES_FOR_WOMEN[name]
            for name, coding in codes.items()
        ):
            return int(capacity.count or 0)
    return 0


def _pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF showing ``lines`` (Helvetica, WinAnsi): the document's readable body."""

    def shown(text: str) -> bytes:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("cp1252", "replace") + b") '"

    stream = b"BT /F1 13 Tf 72 790 Td 20 TL " + b" ".join(shown(line) for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
