"""INSi throughput: segurlink vs a bare zeep call vs a bare requests.post, same mock, one run.

    python benchmarks/insi.py [--calls 300]

Prints calls/s of each and the ratios. All three go over mutual TLS to the same INSi mock
on loopback with one pooled connection, for the same person. The mock runs in its own
process (`segurlink mock serve`), as in a DUI's CI, so client and server do not share a GIL.
The ratios matter, not the absolute figures (they depend on the machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
import zeep
from lxml import etree
from segurlink_mocks.stack import mock_process
from zeep import Plugin
from zeep.transports import Transport

from segurlink._resources import schemas_dir
from segurlink.identity import IdentityTraits
from segurlink.insi import InsiClient, InsiSettings, TraitsQuery

PERSON = {"birth_name": "ADRUN", "first_names": "ZOE", "sex": "F", "birth_date": "1975-12-31"}


class _WsaAction(Plugin):  # type: ignore[misc]
    """What a bare zeep user must add: the wsa:Action header the WSDL does not declare."""

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        header = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Header")
        action = etree.SubElement(header, "{http://www.w3.org/2005/08/addressing}Action")
        action.text = operation.soapaction
        return envelope, http_headers


def _rate(name: str, call: Callable[[], object], calls: int) -> float:
    for _ in range(min(20, calls)):  # warm-up: connection, caches
        call()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    elapsed = time.perf_counter() - started
    rate = calls / elapsed
    print(f"{name:<28} {rate:8.1f} calls/s   {elapsed / calls * 1000:6.2f} ms/call")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, mock_process(Path(tmp)) as settings:
        insi_settings = InsiSettings.from_settings(settings)
        client = InsiClient.from_settings(settings)
        traits = IdentityTraits.from_input(**PERSON)
        query = TraitsQuery.from_traits(traits, with_birth_place=False)

        # Same bytes for the bare requests.post baseline (a fresh MessageID is not needed
        # by the mock; the real service would want one per call).
        request = client.messages.search_by_traits(query)
        tls = insi_settings.tls
        raw = requests.Session()
        raw.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test CA
        raw.cert = (str(tls.cert), str(tls.key))
        raw.verify = str(tls.ca_bundle)

        def bare_requests() -> object:
            response = raw.post(
                insi_settings.endpoint,
                data=request.body,
                headers={"Content-Type": request.content_type},
                timeout=10,
            )
            response.raise_for_status()
            return response.content

        zsession = requests.Session()
        zsession.trust_env = False
        zsession.cert = raw.cert
        zsession.verify = raw.verify
        zclient = zeep.Client(
            str(schemas_dir() / "insi" / "insi.wsdl"),
            transport=Transport(session=zsession, operation_timeout=10),
            plugins=[_WsaAction()],
        )
        service = zclient.create_service(
            "{http://www.cnamts.fr/webservice}ICIRServiceBinding", insi_settings.endpoint
        )
        software = settings.require_software()
        headers = {
            "NO1_ContexteLPS": {
                "Nature": "CTXLPS",
                "Version": "01_00",
                "Id": str(uuid.uuid4()),
                "Temps": "2026-01-01T00:00:00.000Z",
                "Emetteur": client.messages.emitter,
                "LPS": {
                    "IDAM": {"_value_1": software.idam, "R": "4"},
                    "Version": software.version,
                    "Instance": software.instance,
                    "Nom": software.lps_name,
                },
            },
            "NO1_MessageID": f"uuid:{uuid.uuid4()}",
            "NO1_ContexteBAM": {
                "Version": "01_02",
                "Id": str(uuid.uuid4()),
                "Temps": "2026-01-01T00:00:00.000Z",
                "Emetteur": client.messages.emitter,
                "COUVERTURE": {},
            },
        }

        def bare_zeep() -> object:
            return service.rechercherInsAvecTraitsIdentite(
                NomNaissance="ADRUN",
                Prenom=["ZOE"],
                Sexe="F",
                DateNaissance="1975-12-31",
                _soapheaders=headers,
            )

        def segurlink_search() -> object:
            result, _ = client.search_once(query)
            assert result.found
            return result

        print(
            f"INSi mock {insi_settings.endpoint}, {args.calls} calls each, mutual TLS, keep-alive"
        )
        print("three interleaved rounds; the best round of each counts (less noise from order)")
        methods: dict[str, Callable[[], object]] = {
            "bare requests.post (bytes)": bare_requests,
            "bare zeep service call": bare_zeep,
            "segurlink search_once": segurlink_search,
        }
        best = dict.fromkeys(methods, 0.0)
        for round_no in range(1, 4):
            print(f"round {round_no}")
            for name, call in methods.items():
                best[name] = max(best[name], _rate(name, call, args.calls))
        r_raw, r_zeep, r_seg = best.values()
        print("best:", ", ".join(f"{name} {rate:.1f}/s" for name, rate in best.items()))
        print()
        print(f"segurlink / bare zeep      = {r_seg / r_zeep:5.2f}x")
        print(f"segurlink / bare requests  = {r_seg / r_raw:5.2f}x")
        print(f"bare zeep / bare requests  = {r_zeep / r_raw:5.2f}x")

        started = time.perf_counter()
        for _ in range(args.calls):
            client.messages.search_by_traits(query)
        build_ms = (time.perf_counter() - started) / args.calls * 1000
        print(f"segurlink request building alone: {build_ms:.3f} ms/request")
        client.close()


if __name__ == "__main__":
    main()
