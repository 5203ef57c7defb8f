"""Which failures are retried and which are final, and what of them the outbox keeps.

A delivery that failed for a reason that may pass — the network, a timeout, the service
unavailable or overloaded (HTTP 5xx, 408, 429, XDS *NotAvailable/Busy*, SOAP ``Receiver``
faults, SMTP 4xx: the error's ``is_transient``), our own configuration or the MSSanté
mailbox's credentials being fixed — is retried later with backoff. A refusal of the
service about this job — unknown patient, no INS, refused rights, invalid metadata, a
uniqueId already used by another document — or bad input is final: the job goes ``dead``
with the reason, for a person to read.

The error kept with a job is the exception's class, the service's code and its message
with identifiers, dates and quoted values masked: an outbox error never holds health
data. A failure that is not a segurlink error (a bug) keeps only its class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._audit import mask_text
from ..errors import (
    RETRY_HTTP_STATUSES,
    TRANSIENT_XDS_CODES,
    ConfigurationError,
    FhirError,
    HttpStatusError,
    MssAuthenticationError,
    MssError,
    OidcError,
    SegurlinkError,
    SoapFault,
    XdsError,
)
from .models import JobError

__all__ = [
    "RETRY_HTTP_STATUSES",
    "TRANSIENT_XDS_CODES",
    "Verdict",
    "classify",
    "job_error",
    "safe_message",
]

_DATE = re.compile(r"\b(?:\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|(?:19|20)\d{6})\b")
_QUOTED = re.compile(r"""(?<![\w'])'[^'\n]*'(?![\w'])|"[^"\n]*\"""")
_MAX_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a failed delivery: ``retry`` it later or not, and the error kept."""

    retry: bool
    error: JobError
    retry_after: float | None = None


def safe_message(message: str) -> str:
    """``message`` with NIR/INS-like numbers, dates and quoted values masked, cut short.

    >>> safe_message("patient 275126322074974 born 1975-12-31 named 'ADRUN': l'accès")
    "patient 27***********74 born **** named '***': l'accès"
    """
    masked = _QUOTED.sub(lambda m: m.group(0)[0] + "***" + m.group(0)[-1], message)
    masked = _DATE.sub("****", mask_text(masked))
    return masked[:_MAX_MESSAGE]


def job_error(exc: BaseException) -> JobError:
    """The class, code and masked message of ``exc``, as the outbox keeps them."""
    name = type(exc).__name__
    if not isinstance(exc, SegurlinkError):
        return JobError(name, "", "unexpected error (see the worker's log for where)")
    return JobError(name, _code(exc), safe_message(exc.message))


def _code(exc: SegurlinkError) -> str:
    if isinstance(exc, XdsError):
        return exc.errors[0].code if exc.errors else ""
    if isinstance(exc, SoapFault):
        return exc.detail_code or exc.subcode or exc.code
    if isinstance(exc, OidcError):
        return exc.error
    if isinstance(exc, FhirError | HttpStatusError):
        return str(exc.status)
    if isinstance(exc, MssError):
        return str(exc.code or "")
    return ""


def classify(exc: BaseException) -> Verdict:
    """Retry or dead for the failure ``exc`` of a delivery (see the module docstring)."""
    error = job_error(exc)
    retry_after = getattr(exc, "retry_after", None)
    retry_after = float(retry_after) if isinstance(retry_after, int | float) else None
    return Verdict(_retryable(exc), error, retry_after)


def _retryable(exc: BaseException) -> bool:
    if not isinstance(exc, SegurlinkError):
        return True  # a bug or an OS failure: keep the job, the budget bounds the retries
    if isinstance(exc, ConfigurationError):
        return True  # fixed by a person; the jobs wait meanwhile
    if isinstance(exc, MssAuthenticationError):
        return True  # the structure's certificate or token is fixed by a person
    return exc.is_transient
