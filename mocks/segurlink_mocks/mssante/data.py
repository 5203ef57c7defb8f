"""The MSSanté mock's trust space: operator domains, mailboxes, known patients.

Two mock operators: ``segurlink-test.mssante.fr`` runs the submission server the DUI
talks to (its mailboxes are checked at ``RCPT`` time), ``hopital-test.mssante.fr`` is a
"remote" operator (its recipients are accepted at ``RCPT`` and an unknown one comes back
as a DSN, as across real operators). Patients are ``<INS>@patient.mssante.fr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "APP_CERT_CN",
    "APP_MAILBOX",
    "CAB_MAILBOX",
    "CLOSED_PATIENT",
    "INTEGRATION_MAILBOX",
    "KNOWN_PATIENTS",
    "LOCAL_DOMAIN",
    "MAILBOXES",
    "ORG_MAILBOX",
    "PATIENT_DOMAIN",
    "PER_MAILBOX",
    "PER_MAILBOX_2",
    "REMOTE_DOMAIN",
    "REMOTE_PER_MAILBOX",
    "TRUSTED_DOMAINS",
    "Mailbox",
]

LOCAL_DOMAIN = "segurlink-test.mssante.fr"
REMOTE_DOMAIN = "hopital-test.mssante.fr"
PATIENT_DOMAIN = "patient.mssante.fr"
#: Domains of the mock operators: anything else is outside the trust space.
TRUSTED_DOMAINS = frozenset({LOCAL_DOMAIN, REMOTE_DOMAIN, PATIENT_DOMAIN})

#: CN of the structure's certificate bound to the APP mailbox (issued by the test PKI).
APP_CERT_CN = "MSSANTE-APP-EHPAD"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A mailbox of the mock: address, TRE_R257 kind, who may log in.

    ``owners`` are the national ids (``8`` + RPPS) whose PSC tokens open a PER/ORG
    mailbox; ``cert_cn``/``cert_ou`` the certificate subject that opens an APP mailbox.
    ``integrates`` marks a software mailbox that integrates the CDA it receives and
    answers with MDNs carrying the MSSanté error codes (a receiving DPI).
    """

    address: str
    kind: str
    owners: frozenset[str] = frozenset()
    cert_cn: str = ""
    cert_ou: str = ""
    integrates: bool = False


PER_MAILBOX = f"paul.medecin-test@{LOCAL_DOMAIN}"
PER_MAILBOX_2 = f"claire.infirmiere-test@{LOCAL_DOMAIN}"
#: Paul MEDECIN-TEST's practice mailbox (the Annuaire Santé mock publishes it).
CAB_MAILBOX = f"cabinet.paix@{LOCAL_DOMAIN}"
ORG_MAILBOX = f"secretariat@{LOCAL_DOMAIN}"
APP_MAILBOX = f"dui-ehpad@{LOCAL_DOMAIN}"
REMOTE_PER_MAILBOX = f"dr.destinataire@{REMOTE_DOMAIN}"
INTEGRATION_MAILBOX = f"integration@{REMOTE_DOMAIN}"


def _mailboxes(structure_ou: str) -> dict[str, Mailbox]:
    boxes = (
        Mailbox(PER_MAILBOX, "PER", frozenset({"810001234567"})),
        Mailbox(PER_MAILBOX_2, "PER", frozenset({"810009876543"})),
        Mailbox(CAB_MAILBOX, "CAB", frozenset({"810001234567"})),
        Mailbox(ORG_MAILBOX, "ORG", frozenset({"810001234567", "810009876543"})),
        Mailbox(APP_MAILBOX, "APP", cert_cn=APP_CERT_CN, cert_ou=structure_ou),
        Mailbox(REMOTE_PER_MAILBOX, "PER", frozenset({"810005555555"})),
        Mailbox(INTEGRATION_MAILBOX, "APP", integrates=True),
    )
    return {box.address: box for box in boxes}


def default_mailboxes(structure_ou: str) -> Mapping[str, Mailbox]:
    return MappingProxyType(_mailboxes(structure_ou))


MAILBOXES = default_mailboxes("499700367909006")

#: INS (matricule + key) the integrating mailbox knows (the DMP mock's test patients).
KNOWN_PATIENTS = frozenset(
    {"275126322074974", "297022A02077878", "236066322083656", "110086322083060"}
)
#: A patient whose Mon espace santé mailbox is closed: delivery fails with a DSN.
CLOSED_PATIENT = "180036322075817"
