"""Which failures are retried, which are final, and what of them is kept (no health data)."""

from __future__ import annotations

import pytest

from segurlink.errors import (
    ConfigurationError,
    FhirError,
    HttpStatusError,
    IdentityStatusError,
    InputError,
    InsiFault,
    Issue,
    MalformedResponse,
    OidcError,
    SegurlinkError,
    ServiceError,
    SoapFault,
    TlsError,
    TransportError,
    TransportTimeout,
    ValidationError,
    XdsError,
    XdsIssue,
)
from segurlink.outbox.classify import classify, job_error, safe_message


def xds(*codes: str) -> XdsError:
    return XdsError("the XDS transaction failed", [XdsIssue(c, "ctx", "Error") for c in codes])


@pytest.mark.parametrize(
    ("exc", "retry", "code"),
    [
        (TransportError("connection refused"), True, ""),
        (TransportTimeout("no answer"), True, ""),
        (TlsError("handshake"), True, ""),
        (MalformedResponse("truncated"), True, ""),
        (HttpStatusError("502", status=502), True, "502"),
        (HttpStatusError("500", status=500), True, "500"),
        (HttpStatusError("429", status=429), True, "429"),
        (HttpStatusError("408", status=408), True, "408"),
        (HttpStatusError("425", status=425), True, "425"),
        (HttpStatusError("499", status=499), False, "499"),
        (HttpStatusError("403", status=403), False, "403"),
        (HttpStatusError("404", status=404), False, "404"),
        (xds("XDSRegistryNotAvailable"), True, "XDSRegistryNotAvailable"),
        (xds("XDSRegistryBusy"), True, "XDSRegistryBusy"),
        (xds("XDSRepositoryBusy"), True, "XDSRepositoryBusy"),
        (xds("XDSRegistryOutOfResources"), True, "XDSRegistryOutOfResources"),
        (xds("XDSRepositoryOutOfResources"), True, "XDSRepositoryOutOfResources"),
        (xds("XDSUnknownPatientId"), False, "XDSUnknownPatientId"),
        (xds("XDSDocumentUniqueIdError"), False, "XDSDocumentUniqueIdError"),
        (xds("XDSRepositoryMetadataError", "XDSRegistryBusy"), True, "XDSRepositoryMetadataError"),
        (xds(), False, ""),
        (SoapFault("down", code="Receiver"), True, "Receiver"),
        (SoapFault("down", code="Server"), True, "Server"),
        (
            SoapFault("auth", code="Sender", subcode="wsse:FailedAuthentication"),
            False,
            "wsse:FailedAuthentication",
        ),
        (SoapFault("d", code="Sender", subcode="s", detail_code="DMP_7"), False, "DMP_7"),
        (InsiFault("busy", code="Receiver", subcode="siram_40"), True, "siram_40"),
        (InsiFault("no", code="Sender", subcode="siram_100"), False, "siram_100"),
        (OidcError("busy", error="temporarily_unavailable"), True, "temporarily_unavailable"),
        (OidcError("oops", error="server_error"), True, "server_error"),
        (OidcError("slow", error="slow_down"), True, "slow_down"),
        (OidcError("no", error="invalid_client"), False, "invalid_client"),
        (FhirError("gone", status=404), False, "404"),
        (FhirError("dup", status=412), False, "412"),
        (FhirError("rule", status=400), False, "400"),
        (FhirError("oops", status=500), True, "500"),
        (FhirError("busy", status=503), True, "503"),
        (FhirError("slow", status=429), True, "429"),
        (InputError("no INS in the CDA"), False, ""),
        (IdentityStatusError("not QUAL"), False, ""),
        (ValidationError("bad metadata"), False, ""),
        (ConfigurationError("no certificate"), True, ""),
        (ServiceError("the service says no"), False, ""),
        (SegurlinkError("something else"), False, ""),
        (KeyError("bug"), True, ""),
        (OSError("disk"), True, ""),
    ],
)
def test_classification(exc: BaseException, retry: bool, code: str) -> None:
    verdict = classify(exc)
    assert verdict.retry is retry
    assert verdict.error.error_class == type(exc).__name__
    assert verdict.error.code == code
    assert verdict.retry_after is None


def test_a_retry_after_carried_by_the_error_is_kept() -> None:
    exc = HttpStatusError("busy", status=503)
    exc.retry_after = 12  # type: ignore[attr-defined]
    assert classify(exc).retry_after == 12.0


def test_a_foreign_exception_keeps_only_its_class() -> None:
    error = job_error(KeyError("ADRUN ZOE 275126322074974"))
    assert error.error_class == "KeyError"
    assert "ADRUN" not in error.message and "2751" not in error.message
    assert error.message.startswith("unexpected error")


def test_messages_lose_identifiers_dates_and_quoted_values() -> None:
    message = safe_message(
        "patient 275126322074974 (2A0101234567890?) born 1975-12-31, 31/12/1975, 19751231 "
        "named 'ADRUN' \"ZOE\": l'accès à son DMP est interdit"
    )
    for secret in ("275126322074974", "1975-12-31", "31/12/1975", "19751231", "ADRUN", "ZOE"):
        assert secret not in message
    assert "l'accès à son DMP est interdit" in message
    assert "'***'" in message and '"***"' in message


def test_messages_are_cut_to_500_characters() -> None:
    assert len(safe_message("x" * 2000)) == 500
    assert safe_message("short") == "short"


def test_the_kept_error_of_a_service_refusal() -> None:
    error = job_error(
        FhirError(
            "the ROR did not accept the capacity (unknown-location)",
            status=404,
            issues=[Issue("error", "not found")],
        )
    )
    assert (error.error_class, error.code) == ("FhirError", "404")
    assert error.message == "the ROR did not accept the capacity (unknown-location)"
    assert str(error) == "FhirError [404]: the ROR did not accept the capacity (unknown-location)"


def test_dates_become_four_stars() -> None:
    assert safe_message("born 1975-12-31, 31/12/1975 and 19751231: ok") == (
        "born ****, **** and ****: ok"
    )
