"""Every client (INSi, DMP, PSC, ROR, the Annuaire Santé) stops an endless answer at
``[limits] max_answer_mb``.

Each client is configured like for its mock, with its endpoint moved to a loopback TLS
server that answers with a chunked body that never ends. The call must fail with
``MalformedResponse`` once 1 MiB has been read, and the server must see the client hang
up after a few MiB at most (what the sockets buffer), not read its 512 MiB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segurlink.config import Settings
from segurlink.errors import MalformedResponse
from tests.hostile_server import HostileServer

MIB = 1024 * 1024
SOCKET_SLACK = 16 * MIB


@pytest.fixture
def endless(segurlink_pki: Any) -> Iterator[HostileServer]:
    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("endless", ssl_context=context, content_type="text/xml") as server:
        yield server


def _moved(settings: Settings, service: str, **table: str) -> Settings:
    data = settings.to_mapping()
    data[service] = {**data[service], **table}
    data["limits"] = {"max_answer_mb": 1}
    return Settings.from_mapping(data, base_dir=settings.base_dir)


def _insi_call(settings: Settings) -> Callable[[], object]:
    from segurlink.identity import IdentityTraits
    from segurlink.insi import InsiClient

    client = InsiClient.from_settings(settings)
    traits = IdentityTraits.from_input(
        birth_name="ADRTROIS", first_names="DOMINIQUE", sex="F", birth_date="1997-02-26"
    )
    return lambda: client.search(traits)


def _dmp_call(settings: Settings) -> Callable[[], object]:
    from segurlink.dmp import DmpClient
    from tests.dmp import factory as f

    client = DmpClient.from_settings(settings)
    return lambda: client.check(f.patient_ins(f.ZOE))


def _psc_call(settings: Settings) -> Callable[[], object]:
    from segurlink.psc import PscClient

    client = PscClient.from_settings(settings)
    return lambda: client.metadata()


def _ror_call(settings: Settings) -> Callable[[], object]:
    from segurlink.ror import RorClient

    client = RorClient.from_settings(settings)
    return lambda: client.organizations(name="EHPAD").first()


def _assert_stopped_at_the_limit(server: HostileServer, call: Callable[[], object]) -> None:
    with pytest.raises(MalformedResponse, match="1 MiB limit"):
        call()
    time.sleep(0.3)  # the server notices the hang-up on its next send
    assert server.requests == 1 and server.peer_closed == 1
    assert MIB < server.sent < MIB + SOCKET_SLACK


def test_insi_client(endless: HostileServer, segurlink_mock_settings: Settings) -> None:
    settings = _moved(segurlink_mock_settings, "insi", endpoint=endless.url + "/lps")
    _assert_stopped_at_the_limit(endless, _insi_call(settings))


def test_dmp_client(endless: HostileServer, dmp_settings: Settings) -> None:
    settings = _moved(dmp_settings, "dmp", endpoint=endless.url + "/dmp")
    _assert_stopped_at_the_limit(endless, _dmp_call(settings))


def test_psc_client(endless: HostileServer, psc_settings: Settings) -> None:
    settings = _moved(psc_settings, "psc", issuer=endless.url + "/realms/esante-wallet")
    _assert_stopped_at_the_limit(endless, _psc_call(settings))


def test_ror_client_token(endless: HostileServer, ror_settings: Settings) -> None:
    settings = _moved(ror_settings, "ror", token_url=endless.url + "/token")
    _assert_stopped_at_the_limit(endless, _ror_call(settings))


def test_ror_client_search_page(segurlink_pki: Any, ror_settings: Settings, ror_mock: Any) -> None:
    # A token from the mock, then a FHIR page that never ends (a 200 MB bundle, say).
    from segurlink.ror import RorClient

    context = segurlink_pki.server_ssl_context(require_client_cert=False)
    with HostileServer("endless", ssl_context=context) as server:
        settings = _moved(
            ror_settings,
            "ror",
            endpoint=server.url + "/ws-diffusion-fhir",
            capacity_endpoint=server.url + "/ws-synchro-dispo-lits-fhir",
        )
        with RorClient.from_settings(settings) as client:
            client.token()
            _assert_stopped_at_the_limit(server, lambda: client.locations(count=1000).first())


def test_annuaire_client(endless: HostileServer, annuaire_settings: Settings) -> None:
    # A search page that never ends (a gateway gone wrong, say).
    from segurlink.mssante import AnnuaireClient

    settings = _moved(annuaire_settings, "annuaire", endpoint=endless.url + "/fhir/v2")
    client = AnnuaireClient.from_settings(settings)
    _assert_stopped_at_the_limit(endless, lambda: client.lookup(name="MARTIN"))
