"""An independent FHIR client crawls the ROR mock: every resource type to the last page.

Plain ``requests`` and the fhir.resources R4B models, nothing of segurlink: the token is
fetched with ``client_credentials``, every search follows its ``next`` links to the end,
each resource is validated by ``model_validate``, totals must equal what was collected,
no resource may come twice, and every reference between them must resolve.

``python -m tests.mocks.ror.crawl`` starts a mock and prints the counts by type and
category; ``tests/mocks/ror/test_crawl.py`` asserts the same.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from fhir.resources.R4B import get_fhir_model_class

TYPES = ("Organization", "HealthcareService", "Location", "Practitioner", "PractitionerRole")
_R66 = "TRE_R66-CategorieEtablissement"


@dataclass
class Crawl:
    counts: Counter[str] = field(default_factory=Counter)
    categories: Counter[tuple[str, str]] = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    duplicates: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def _session(token_url: str, client_id: str, secret: str, ca: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    answer = session.post(token_url, data={"grant_type": "client_credentials",
                                           "client_id": client_id, "client_secret": secret},
                          timeout=30)
    answer.raise_for_status()
    session.headers.update({
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "Accept": "application/fhir+json",
        "Ror-Profil-Utilisateur-Code": "CU22",
        "Ror-Profil-Utilisateur-System": "1.2.250.1.213.1.6.1.66",
        "Ror-Role-Metier-Code": "AUTOMATE",
        "Ror-Role-Metier-System": "1.2.250.1.213.1.1.4.6",
    })
    return session


def _category(resource: dict[str, Any]) -> str:
    kind = resource["resourceType"]
    if kind == "Organization":
        for concept in resource.get("type", ()):
            for coding in concept.get("coding", ()):
                if _R66 in coding.get("system", ""):
                    return f"EG {coding['code']} {coding.get('display', '')}"
        return "internal unit" if resource.get("partOf") else "EJ (legal entity)"
    if kind == "HealthcareService":
        coding = resource["type"][0]["coding"][0]
        return f"{coding['code']} {coding.get('display', '')}"
    if kind == "Location":
        status = resource.get("operationalStatus", {}).get("code", "?")
        return f"operational status {status}"
    if kind == "PractitionerRole":
        coding = resource["code"][0]["coding"][0]
        return f"{coding['code']} {coding.get('display', '')}"
    return "-"


def crawl(fhir_base: str, token_url: str, client_id: str, secret: str, ca: str,
          *, page_size: int = 500) -> Crawl:
    session = _session(token_url, client_id, secret, ca)
    result = Crawl()
    for kind in TYPES:
        model = get_fhir_model_class(kind)
        url: str | None = f"{fhir_base}/{kind}?_count={page_size}"
        while url:
            response = session.get(url, timeout=120)
            response.raise_for_status()
            bundle = response.json()
            result.pages += 1
            result.totals[kind] = bundle["total"]
            for entry in bundle.get("entry", ()):
                resource = entry["resource"]
                key = f"{resource['resourceType']}/{resource['id']}"
                if key in result.resources:
                    result.duplicates.append(key)
                    continue
                try:
                    model.model_validate(resource)
                except Exception as exc:  # noqa: BLE001 - reported, the crawl goes on
                    result.invalid.append(f"{key}: {str(exc)[:120]}")
                result.resources[key] = resource
                result.counts[kind] += 1
                result.categories[(kind, _category(resource))] += 1
            url = next((lk["url"] for lk in bundle.get("link", ()) if lk["relation"] == "next"),
                       None)
    for key, resource in result.resources.items():
        for element in ("providedBy", "location", "partOf", "practitioner", "healthcareService",
                        "organization"):
            value = resource.get(element)
            for ref in value if isinstance(value, list) else [value] if value else []:
                if ref["reference"] not in result.resources:
                    result.dangling.append(f"{key}.{element} -> {ref['reference']}")
    return result


def report(result: Crawl) -> str:
    lines = [f"{sum(result.counts.values())} resources in {result.pages} pages, "
             f"{len(result.invalid)} invalid, {len(result.duplicates)} duplicates, "
             f"{len(result.dangling)} dangling references"]
    for kind in TYPES:
        lines.append(f"{kind}: {result.counts[kind]} (total announced {result.totals.get(kind)})")
        for (k, category), n in sorted(result.categories.items()):
            if k == kind and kind != "Practitioner":
                lines.append(f"    {n:5d}  {category}")
    return "\n".join(lines)


def main() -> int:
    import tempfile
    from pathlib import Path

    from segurlink_mocks.pki import TestPki
    from segurlink_mocks.ror import CLIENT_ID, CLIENT_SECRET, RorMock

    with tempfile.TemporaryDirectory() as tmp:
        pki = TestPki.create(Path(tmp))
        with RorMock(pki) as ror:
            result = crawl(ror.fhir_base, ror.token_url, CLIENT_ID, CLIENT_SECRET, str(pki.ca))
    print(report(result))
    return 0 if not (result.invalid or result.duplicates or result.dangling) else 1


if __name__ == "__main__":
    sys.exit(main())
