"""Generated OIDs stay within 64 characters whatever ``source_oid`` is configured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segurlink.config import SoftwareIdentity, TlsConfig
from segurlink.dmp import APPROVED, DmpClient, DmpSettings, DocumentEntry, ResponsiblePerson
from segurlink.dmp.models import (
    MAX_OID_LENGTH,
    MAX_SOURCE_OID_LENGTH,
    SIGNATURE_ARC,
    SUBMISSION_SET_ARC,
    new_oid,
)
from segurlink.errors import ConfigurationError
from tests.dmp import factory as f
from tests.dmp.conftest import make_signer

OID = re.compile(r"[0-2](\.(0|[1-9]\d*))+")


def _settings(source_oid: str) -> DmpSettings:
    return DmpSettings(
        endpoint="https://dmp.invalid/si-dmp-server/v2/services",
        tls=TlsConfig(),
        signing_cert=Path("unused.pem"),
        signing_key=Path("unused.key"),
        software=SoftwareIdentity(
            "MonDUI", "1.0", "R1234567", "6f1c1b1e-3a52-4f57-9c1d-5e6b2f0a7d31"
        ),
        structure_id=f.STRUCTURE_ID,
        structure_name="EHPAD SEGURLINK TEST",
        responsible=ResponsiblePerson("810100000001", "RESPONSABLE", "ROBERT"),
        homologation_id="HOMOL",
        source_oid=source_oid,
    )


@st.composite
def oid_roots(draw: st.DrawFn) -> str:
    """Valid OIDs from 3 to 90 characters (first arc 0-2, no leading zeros)."""
    target = draw(st.integers(min_value=3, max_value=90))
    root = str(draw(st.integers(0, 2)))
    while len(root) < target:
        arc = draw(st.integers(min_value=0, max_value=10**12))
        root += f".{arc}"
    return root


@settings(max_examples=300, deadline=None)
@given(root=oid_roots())
def test_every_generated_oid_fits_or_the_root_is_refused_at_configuration(root: str) -> None:
    if len(root) > MAX_SOURCE_OID_LENGTH:
        with pytest.raises(ConfigurationError, match="source_oid"):
            _settings(root)
        return
    _settings(root)  # accepted
    for arc in (SUBMISSION_SET_ARC, SIGNATURE_ARC):
        oid = new_oid(root, arc)
        assert len(oid) <= MAX_OID_LENGTH
        assert OID.fullmatch(oid) and oid.startswith(f"{root}.{arc}.")
        assert len(oid.rsplit(".", 1)[1]) >= 20  # at least 66 random bits


def test_limits_are_those_of_the_spec() -> None:
    assert MAX_OID_LENGTH == 64
    assert MAX_SOURCE_OID_LENGTH == 41  # 64 - len(".1.") - 20 random digits
    _settings("1." + "2" * 39)  # 41 characters: accepted
    with pytest.raises(ConfigurationError, match="41"):
        _settings("1." + "2" * 40)  # 42 characters: refused at configuration time
    with pytest.raises(ConfigurationError):
        new_oid("1." + "2" * 40, 1)


def test_generated_ids_are_unique_and_use_the_room_left() -> None:
    ids = {new_oid("1.2.250.1.999.1.1", 1) for _ in range(2000)}
    assert len(ids) == 2000
    # A short root leaves room for 39 digits (a UUID's entropy), never more than 64 in all.
    assert all(len(i) == len("1.2.250.1.999.1.1.1.") + 39 for i in ids)


def test_a_deposit_under_the_longest_root_has_only_short_oids() -> None:
    root = "1.2.250.1.213.1.1.9." + "1" * (MAX_SOURCE_OID_LENGTH - len("1.2.250.1.213.1.1.9."))
    assert len(root) == MAX_SOURCE_OID_LENGTH
    client = DmpClient(_settings(root), signer=make_signer(f.STRUCTURE_ID))
    try:
        _, ss, docs, _, _ = client.prepare_deposit(f.cda(seed=40))
        generated = [ss.unique_id, docs[1].unique_id]  # submission set, Signature01
        assert all(len(oid) <= MAX_OID_LENGTH and OID.fullmatch(oid) for oid in generated)
        stored = DocumentEntry("urn:uuid:1", docs[0].unique_id, APPROVED, patient_id="p")
        admin = client._admin_submission_set(stored)  # hide, archive, delete
        assert len(admin.unique_id) <= MAX_OID_LENGTH and OID.fullmatch(admin.unique_id)
    finally:
        client.close()
