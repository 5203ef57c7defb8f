"""The whole exception tree of segurlink.

A caller catches :class:`SegurlinkError` (or one branch of it) and never has to know
about ``zeep``, ``requests``, ``lxml`` or ``ssl`` exceptions: those are wrapped with
``raise ... from exc`` so the original stays available as ``__cause__``.

::

    SegurlinkError                      exit_code 1: the service or the document says no
    ├── ConfigurationError              exit_code 2: settings, files, certificates
    ├── InputError                      exit_code 2: bad input from the caller, nothing sent
    │   │                               (also a ValueError)
    │   ├── InvalidIdentifier           NIR / NIA / INS format or key
    │   ├── InvalidTraits               identity traits that cannot be normalised
    │   ├── IdentityStatusError         RNIV rule refused (e.g. sharing a non-QUAL INS)
    │   ├── MessageTooLarge             MSSanté message over the size limit (not sent)
    │   └── Hl7Error                    HL7 v2 message that cannot be read (segment, field)
    ├── ValidationError                 a document or message fails its rules
    ├── TransportError                  the exchange did not complete
    │   ├── TransportTimeout            no answer within the configured timeout
    │   ├── TlsError                    handshake or certificate verification failed
    │   ├── HttpStatusError             HTTP error status without a usable service answer
    │   ├── MalformedResponse           not the expected protocol (HTML, truncated XML...)
    │   │   ├── XmlSecurityError        DTD / entities in a received document
    │   │   └── XdmError                IHE XDM archive unsafe or unreadable (zip-slip, bomb)
    │   └── MllpError                   MLLP framing broken or frame too large (HL7 v2)
    ├── OutboxError                     the outbox's database failed (unavailable, locked)
    └── ServiceError                    the service answered with its own error
        ├── SoapFault                   SOAP fault: code, subcode, detail code, severity
        │   └── InsiFault               INSi (siram_* subcodes, desir_* / insi_* details)
        ├── XdsError                    XDS RegistryResponse failures (DMP)
        ├── OidcError                   OAuth2 / OpenID Connect ``error`` (Pro Santé Connect)
        ├── FhirError                   FHIR OperationOutcome (ROR)
        ├── NotFound                    the service has no such object (e.g. a DMP entry)
        └── MssError                    MSSanté operator refusal: SMTP code, enhanced status
            └── MssAuthenticationError  SASL refused (bad/expired token, certificate)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "FhirError",
    "Hl7Error",
    "HttpStatusError",
    "IdentityStatusError",
    "InputError",
    "InsiFault",
    "InvalidIdentifier",
    "InvalidTraits",
    "Issue",
    "MalformedResponse",
    "MessageTooLarge",
    "MllpError",
    "MssAuthenticationError",
    "MssError",
    "NotFound",
    "OidcError",
    "OutboxError",
    "RecipientRefusal",
    "SegurlinkError",
    "ServiceError",
    "SoapFault",
    "TlsError",
    "TransportError",
    "TransportTimeout",
    "ValidationError",
    "XdmError",
    "XdsError",
    "XdsIssue",
    "XmlSecurityError",
]


#: XDS error codes (IHE ITI TF-3 4.2.4.1) that say "not now" rather than "no".
TRANSIENT_XDS_CODES = frozenset(
    {
        "XDSRegistryNotAvailable",
        "XDSRegistryBusy",
        "XDSRepositoryBusy",
        "XDSRegistryOutOfResources",
        "XDSRepositoryOutOfResources",
    }
)
#: HTTP statuses below 500 that are worth another try (timeout, too early, too many).
RETRY_HTTP_STATUSES = frozenset({408, 425, 429})
_TRANSIENT_OAUTH_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})


def _transient_status(status: int) -> bool:
    return status >= 500 or status in RETRY_HTTP_STATUSES


class SegurlinkError(Exception):
    """Base of every error raised by segurlink.

    :attr:`is_transient` says whether the same operation may succeed if tried again
    later (an outage, a timeout, "busy") or not (a refusal, bad input): retry loops and
    the outbox ask it instead of testing classes.
    """

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def is_transient(self) -> bool:
        """True when trying the same operation again later may succeed."""
        return False


class ConfigurationError(SegurlinkError):
    """Settings are missing or inconsistent, or a certificate/key file is unusable."""

    exit_code = 2


class InputError(SegurlinkError, ValueError):
    """The caller's input is invalid; nothing was sent to any service.

    Also a :class:`ValueError`, what Python code expects of a bad value.
    """

    exit_code = 2


class InvalidIdentifier(InputError):
    """A NIR, NIA or INS is malformed or its key does not match."""


class InvalidTraits(InputError):
    """Identity traits cannot be normalised to the INSi character rules.

    ``field`` names the trait (``birth_name``, ``first_names``, ``sex``...).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class IdentityStatusError(InputError):
    """An identity-vigilance (RNIV) rule refuses the operation."""


class MessageTooLarge(InputError):
    """An MSSanté message is larger than the configured limit; nothing was sent.

    ``size`` is the message's size in bytes, ``limit`` the configured maximum.
    """

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class Hl7Error(InputError):
    """An HL7 v2 message segurlink cannot read.

    ``segment`` is the segment ID (``PID``), ``field`` and ``component`` the 1-based
    positions when known (``PID-7``); ``code`` the HL7 table 0357 error code an
    acknowledgement carries (``101`` required field missing, ``102`` data type error,
    ``200`` unsupported message type...). The message never quotes the field's value.
    """

    def __init__(
        self,
        message: str,
        *,
        segment: str,
        field: int | None = None,
        component: int | None = None,
        code: str = "102",
    ) -> None:
        super().__init__(message)
        self.segment = segment
        self.field = field
        self.component = component
        self.code = code

    @property
    def location(self) -> str:
        """``PID-5.2``, ``PID-7``, ``MSH``..."""
        where = self.segment
        if self.field is not None:
            where += f"-{self.field}"
            if self.component is not None:
                where += f".{self.component}"
        return where


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of a validation: severity, location, rule and message."""

    severity: str
    message: str
    location: str = ""
    rule: str = ""


class ValidationError(SegurlinkError):
    """A document or message breaks the rules it is checked against."""

    def __init__(self, message: str, issues: Sequence[Issue] = ()) -> None:
        super().__init__(message)
        self.issues = tuple(issues)


class TransportError(SegurlinkError):
    """The exchange with a service did not complete (network, TLS, HTTP, framing)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    @property
    def is_transient(self) -> bool:
        """The network, a timeout, TLS, a garbled answer: may pass."""
        return True


class TransportTimeout(TransportError):
    """The service did not answer within the configured timeout."""


class TlsError(TransportError):
    """TLS handshake failed: unknown CA, hostname mismatch, client certificate refused."""


class HttpStatusError(TransportError):
    """The service answered with an HTTP error status and no usable protocol error."""

    def __init__(
        self, message: str, *, status: int, url: str | None = None, body_excerpt: str = ""
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.body_excerpt = body_excerpt

    @property
    def is_transient(self) -> bool:
        """HTTP 5xx, or 408/425/429 (timeout, too early, too many requests)."""
        return _transient_status(self.status)


class MalformedResponse(TransportError):
    """The answer is not what the protocol says: HTML page, truncated XML, wrong shape."""


class MllpError(TransportError):
    """An MLLP stream broke its framing (bytes outside a frame, missing end block) or
    carried a frame larger than the configured limit."""


class XmlSecurityError(MalformedResponse):
    """A received document carries a DTD or entity declarations, which are refused."""


class OutboxError(SegurlinkError):
    """The outbox's database could not be used (unreachable, locked too long, corrupt).

    Nothing was lost: a job is in the outbox only once its transaction committed.
    """


class XdmError(MalformedResponse):
    """A received IHE XDM archive is refused: unsafe names (absolute, ``..``), sizes
    beyond the limits (zip bomb), missing or inconsistent METADATA.XML."""


class ServiceError(SegurlinkError):
    """The service processed the request and answered with an error of its own."""


class SoapFault(ServiceError):
    """A SOAP 1.1/1.2 fault with the service's codes.

    ``code`` is the SOAP code (``Sender``/``Receiver``/``soap:Server``...), ``subcode`` the
    service subcode (e.g. ``siram_40``), ``detail_code`` the code carried in the detail
    (e.g. ``insi_102``), ``severity`` its severity when the service gives one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        subcode: str = "",
        detail_code: str = "",
        severity: str = "",
        message_id: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.detail_code = detail_code
        self.severity = severity
        self.message_id = message_id
        self.reason = reason

    @property
    def is_transient(self) -> bool:
        """A fault of the server's side (``Receiver`` / ``Server``), not of the request."""
        return self.code in ("Receiver", "Server")


class InsiFault(SoapFault):
    """An INSi SOAP fault (``siram_100`` refused, ``siram_40`` unavailable...)."""

    @property
    def is_temporary(self) -> bool:
        """True for the unavailability faults a caller may retry later."""
        return self.subcode == "siram_40" or self.detail_code.lower() in {
            "desir_1020",
            "insi_102",
        }

    @property
    def is_transient(self) -> bool:
        return self.is_temporary


@dataclass(frozen=True, slots=True)
class XdsIssue:
    """One ``RegistryError`` of an XDS ``RegistryResponse``."""

    code: str
    context: str
    severity: str
    location: str = ""


class XdsError(ServiceError):
    """An XDS transaction failed: ``RegistryResponse`` status Failure with its errors."""

    def __init__(self, message: str, errors: Sequence[XdsIssue] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    @property
    def is_transient(self) -> bool:
        """An error saying "not now" (registry or repository busy, unavailable)."""
        return any(issue.code in TRANSIENT_XDS_CODES for issue in self.errors)


class OidcError(ServiceError):
    """An OAuth 2.0 / OpenID Connect error, or a token that failed validation."""

    def __init__(self, message: str, *, error: str, description: str = "") -> None:
        super().__init__(message)
        self.error = error
        self.description = description

    @property
    def is_transient(self) -> bool:
        """``temporarily_unavailable``, ``server_error``, ``slow_down``."""
        return self.error in _TRANSIENT_OAUTH_ERRORS


class FhirError(ServiceError):
    """A FHIR server answered with an OperationOutcome (or an error status)."""

    def __init__(self, message: str, *, status: int, issues: Sequence[Issue] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.issues = tuple(issues)

    @property
    def is_transient(self) -> bool:
        return _transient_status(self.status)


class NotFound(ServiceError):
    """The service answered that it has no such object (a DMP entry by its uniqueId...).

    The service's "no" (exit code 1), not the caller's input error: the request was valid.
    """


@dataclass(frozen=True, slots=True)
class RecipientRefusal:
    """One recipient the MSSanté operator refused: SMTP code, enhanced status, text."""

    address: str
    code: int
    enhanced_status: str = ""
    text: str = ""

    @property
    def is_temporary(self) -> bool:
        """True for a 4xx refusal: the same message may be sent again later."""
        return 400 <= self.code < 500


class MssError(ServiceError):
    """The MSSanté operator refused the exchange (SMTP or IMAP answer).

    ``code`` is the SMTP reply code (``552``, ``451``...; 0 for IMAP), ``enhanced_status``
    the RFC 3463 status (``5.7.8``), ``refused`` the recipients refused when no recipient
    was accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        enhanced_status: str = "",
        refused: Sequence[RecipientRefusal] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.enhanced_status = enhanced_status
        self.refused = tuple(refused)

    @property
    def is_temporary(self) -> bool:
        """True for a 4xx answer: retry later."""
        return 400 <= self.code < 500

    @property
    def is_transient(self) -> bool:
        return self.is_temporary


class MssAuthenticationError(MssError):
    """SASL authentication refused: a bad, expired or revoked token (``535 5.7.8`` /
    ``NO [AUTHENTICATIONFAILED]``) or a client certificate the operator does not accept."""
