"""``segurlink ror search|capacity|export``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import CommandResult, load_settings
from ._args import bounded_int, finess, non_empty

__all__ = ["SEARCH_EPILOG", "register"]

#: Help shown under ``segurlink ror search --help``: what the local mock holds.
SEARCH_EPILOG = """\
With the local mocks (`segurlink mock serve`), the ROR mock holds a generated offer in six
regions (TRE_R30 11, 24, 84, 93, 53, 06). List what it holds with, e.g.:
  segurlink ror search organizations --region 24 --max-pages 1
  segurlink ror search services --region 24 --count 20 --max-pages 1 --json
  segurlink ror search locations --commune 45234 --capacity-status 02 --min-capacity 1
Entities every mock has (used in the docs):
  EHPAD LES TILLEULS, Orléans: FINESS 450000088 (EJ 450000070), location 1450000088/UF1234
  SSIAD DE L'ORLEANAIS: FINESS 450000096, covers Orléans 45234 and Olivet 45232
  IME LES CEDRES, Tours: FINESS 370000119
Examples:
  segurlink ror search services --intervention-zone 45232 --home-care
  segurlink ror search services --disability --age 12 --region 24
  segurlink ror search prices --region 24 --max-price 80
  segurlink ror search practitioners --finess 450000088
"""


def _near(text: str) -> Any:
    from ..errors import InputError
    from ..ror.messages import Near

    try:
        lat, lon, *rest = (float(p) for p in text.split(","))
        if len(rest) > 1:
            raise InputError("too many values")
        return Near(lat, lon, rest[0] if rest else 10.0)
    except (ValueError, TypeError, InputError) as exc:
        raise argparse.ArgumentTypeError(f"expected LAT,LON[,KM]: {exc}") from None


def _since(text: str) -> str:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date (YYYY-MM-DD) or an ISO date-time, not {text!r}"
        ) from None
    return text


def _sync_location(text: str) -> str:
    structure, slash, sync_id = text.partition("/")
    if not (slash and structure.strip() and sync_id.strip()):
        raise argparse.ArgumentTypeError(f"expected <idNatStructEG>/<externalSyncId>, not {text!r}")
    return text


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    ror = groups.add_parser("ror", help="ROR: search the offer, publish bed availability")
    commands = ror.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    search = commands.add_parser(
        "search",
        help="search organisations, services, locations, prices, practitioners",
        description="Search the ROR offer (FHIR searches; text criteria match the start of "
        "a name, case and accents ignored).",
        epilog=SEARCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = search.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    paging = argparse.ArgumentParser(add_help=False)
    paging.add_argument(
        "--count", type=bounded_int(1, 1000), help="results per page (_count, 1-1000)"
    )
    paging.add_argument(
        "--max-pages", type=bounded_int(1), default=5, help="stop after N pages (5)"
    )
    paging.add_argument("--region", help="region code (TRE_R30), e.g. 24")
    paging.add_argument(
        "--since", type=_since, help="only resources updated since (YYYY-MM-DD or ISO)"
    )
    paging.add_argument(
        "--fast", action="store_true", help="skip fhir.resources validation (bulk reads)"
    )

    orgs = kinds.add_parser("organizations", parents=[common, paging], help="organisations")
    orgs.add_argument("--finess", type=finess)
    orgs.add_argument("--id-nat-struct")
    orgs.add_argument("--name", help="start of the name (case and accents ignored)")
    orgs.add_argument(
        "--name-match",
        choices=("starts-with", "contains", "exact"),
        default="starts-with",
        help="how --name matches (default starts-with)",
    )
    orgs.add_argument("--type", help="type code (e.g. TRE_R66 category)")
    orgs.add_argument("--parents", action="store_true", help="include the partOf hierarchy")
    orgs.set_defaults(handler=_search_organizations)

    services = kinds.add_parser("services", parents=[common, paging], help="healthcare services")
    services.add_argument("--name", help="start of the name (case and accents ignored)")
    services.add_argument(
        "--name-match",
        choices=("starts-with", "contains", "exact"),
        default="starts-with",
        help="how --name matches (default starts-with)",
    )
    services.add_argument(
        "--intervention-zone",
        metavar="COG",
        help="commune the service covers (home care comes to the person)",
    )
    services.add_argument(
        "--home-care",
        action="store_true",
        help="home-care services only (SSIAD, services autonomie à domicile)",
    )
    services.add_argument(
        "--disability",
        action="store_true",
        help="disability services only (IME, SESSAD, ESAT, MAS, FAM, foyers)",
    )
    services.add_argument("--psychiatric-sector", help="psychiatric sector, e.g. 45G03")
    services.add_argument(
        "--practitioners", action="store_true", help="include each service's practitioners"
    )
    services.add_argument("--category", help="service category (TRE_R244)")
    services.add_argument("--type", help="champ d'activité (TRE_R227)")
    services.add_argument("--specialty", help="activité opérationnelle (TRE_R211)")
    services.add_argument("--patient-type", help="public pris en charge (TRE_R239)")
    services.add_argument("--age", type=bounded_int(0, 150), help="age of the person, in years")
    services.add_argument("--commune", help="COG code of a location")
    services.add_argument("--near", type=_near, help="LAT,LON[,KM] (default 10 km)")
    services.add_argument("--finess", type=finess, help="FINESS of the providing organisation")
    services.add_argument(
        "--hierarchy", action="store_true", help="with --finess: every service under it"
    )
    services.set_defaults(handler=_search_services)

    locations = kinds.add_parser("locations", parents=[common, paging], help="locations")
    locations.add_argument("--identifier")
    locations.add_argument("--commune", help="COG code")
    locations.add_argument("--city")
    locations.add_argument("--postal-code")
    locations.add_argument("--near", type=_near, help="LAT,LON[,KM] (default 10 km)")
    locations.add_argument("--capacity-type", help="TRE_R329: 01 bed, 02 place")
    locations.add_argument("--capacity-status", help="TRE_R330: 01 installed, 02 available")
    locations.add_argument(
        "--min-capacity",
        type=bounded_int(0),
        help="at least N, summed over the matching indicators (e.g. available beds by gender)",
    )
    locations.add_argument("--gender", help="TRE_R332: 01 women, 02 men, 03 either")
    locations.add_argument("--operational-status", help="TRE_R203: OP, FT, FD")
    locations.set_defaults(handler=_search_locations)

    prices = kinds.add_parser(
        "prices", parents=[common, paging], help="nursing homes (EHPAD) and their prices"
    )
    prices.add_argument("--commune", help="COG code of the EHPAD's location")
    prices.add_argument("--near", type=_near, help="LAT,LON[,KM] (default 10 km)")
    prices.add_argument("--max-price", type=float, help="at most this price, in euros")
    prices.add_argument(
        "--price-type", default="02", help="TRE_R246: 02 accommodation (default), 03 dependency"
    )
    prices.add_argument("--residential-type", help="TRE_R242: 01 single room, 02 double")
    prices.add_argument("--welcome-type", help="TRE_R240: 01 permanent, 02 temporary")
    prices.add_argument("--dependency-level", help="TRE_R237 GIR group (with --price-type 03)")
    prices.set_defaults(handler=_search_prices)

    practitioners = kinds.add_parser(
        "practitioners", parents=[common], help="practitioners of a service or an entity"
    )
    which = practitioners.add_mutually_exclusive_group(required=True)
    which.add_argument("--service", type=non_empty, metavar="ID", help="HealthcareService id")
    which.add_argument(
        "--finess", type=finess, help="FINESS of the entity: the practitioners of its services"
    )
    practitioners.add_argument("--max-pages", type=int, default=5, help="stop after N pages (5)")
    practitioners.set_defaults(handler=_search_practitioners)

    capacity = commands.add_parser(
        "capacity",
        parents=[common],
        help="publish one capacity indicator of a location (exit 1 unless accepted)",
    )
    capacity.add_argument("location", type=_sync_location, help="<idNatStructEG>/<externalSyncId>")
    capacity.add_argument("--count", type=bounded_int(0), required=True, help="nbCapacity")
    capacity.add_argument("--status", default="02", help="TRE_R330 (default 02 available)")
    capacity.add_argument("--capacity-type", default="01", help="TRE_R329 (default 01 bed)")
    capacity.add_argument("--temporality", default="01", help="TRE_R331 (default 01 current)")
    capacity.add_argument("--gender", default="", help="TRE_R332: 01 F, 02 M, 03 either")
    capacity.add_argument("--additional-bed-type", default="", help="TRE_R334")
    capacity.add_argument("--crisis-type", default="", help="TRE_R336")
    capacity.add_argument("--temporary-assignment", default="01", help="TRE_R337 (default 01 none)")
    capacity.set_defaults(handler=_capacity)

    export = commands.add_parser(
        "export", parents=[common], help="download the offer with $export (progress on stderr)"
    )
    export.add_argument(
        "--out", type=non_empty, required=True, help="directory for the output files"
    )
    export.add_argument("--type", action="append", dest="types", help="resource type (repeatable)")
    export.add_argument("--since", type=_since, help="only resources updated since")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(handler=_export)


def _client(args: argparse.Namespace) -> Any:
    from ..ror.client import RorClient

    return RorClient.from_settings(load_settings(args))


def _paging(args: argparse.Namespace) -> dict[str, Any]:
    return {"region": args.region, "updated_since": args.since, "count": args.count}


def _run(
    args: argparse.Namespace,
    method: str,
    criteria: dict[str, Any],
    *,
    row: Any = None,
) -> CommandResult:
    with _client(args) as client:
        results = getattr(client, method)(
            max_pages=args.max_pages, validation="fast" if args.fast else None, **criteria
        )
        rows = [(row or _row)(match) for match in results]
        total, truncated, dropped = results.total, results.truncated, results.dropped
    data = {"total": total, "returned": len(rows), "truncated": truncated, "results": rows}
    footer = f"{len(rows)} shown" + (f" of {total}" if total is not None else "")
    if dropped:
        footer += f" ({dropped} under --min-capacity once summed)"
        data["dropped"] = dropped
    if truncated:
        footer += f" (stopped after {args.max_pages} page(s); use --max-pages)"
    return CommandResult(data=data, text=_table(rows) + "\n" + footer)


def _search_organizations(args: argparse.Namespace) -> CommandResult:
    from ..ror.messages import Include

    return _run(
        args,
        "organizations",
        {
            "finess": args.finess,
            "id_nat_struct": args.id_nat_struct,
            "name": args.name,
            "name_match": args.name_match,
            "type": args.type,
            "include": {Include.PARENTS} if args.parents else set(),
            **_paging(args),
        },
    )


def _search_services(args: argparse.Namespace) -> CommandResult:
    from ..errors import InputError
    from ..ror.messages import (
        DEFAULT_SERVICE_INCLUDE,
        DISABILITY_CATEGORIES,
        HOME_CARE_CATEGORIES,
        Include,
    )

    if args.home_care and args.disability:
        raise InputError("--home-care and --disability exclude each other")
    organization_type = (
        HOME_CARE_CATEGORIES
        if args.home_care
        else DISABILITY_CATEGORIES
        if args.disability
        else None
    )
    return _run(
        args,
        "services",
        {
            "name": args.name,
            "name_match": args.name_match,
            "intervention_zone": args.intervention_zone,
            "psychiatric_sector": args.psychiatric_sector,
            "organization_type": organization_type,
            "include": DEFAULT_SERVICE_INCLUDE
            | ({Include.PRACTITIONERS} if args.practitioners else set()),
            "category": args.category,
            "type": args.type,
            "specialty": args.specialty,
            "patient_type": args.patient_type or ("02" if args.disability else None),
            "age": args.age,
            "commune": args.commune,
            "near": args.near,
            "organization_finess": args.finess,
            "organization_hierarchy": args.hierarchy,
            **_paging(args),
        },
    )


def _search_locations(args: argparse.Namespace) -> CommandResult:
    return _run(
        args,
        "locations",
        {
            "identifier": args.identifier,
            "commune": args.commune,
            "city": args.city,
            "postal_code": args.postal_code,
            "near": args.near,
            "capacity_type": args.capacity_type,
            "capacity_status": args.capacity_status,
            "min_capacity": args.min_capacity,
            "gender": args.gender,
            "operational_status": args.operational_status,
            **_paging(args),
        },
    )


def _search_prices(args: argparse.Namespace) -> CommandResult:
    return _run(
        args,
        "nursing_homes",
        {
            "commune": args.commune,
            "near": args.near,
            "max_price": args.max_price,
            "price_type": args.price_type,
            "residential_type": args.residential_type,
            "welcome_type": args.welcome_type,
            "dependency_level": args.dependency_level,
            **_paging(args),
        },
        row=lambda match: _price_row(match, args),
    )


def _price_row(service: Any, args: argparse.Namespace) -> dict[str, Any]:
    org = service.organization
    prices = [
        p
        for p in (org.prices if org else ())
        if (p.price_type and p.price_type.code == args.price_type)
        and (args.max_price is None or (p.amount is not None and p.amount <= args.max_price))
        and all(
            not wanted or (c is not None and c.code == wanted)
            for wanted, c in (
                (args.residential_type, p.residential_type),
                (args.welcome_type, p.welcome_type),
                (args.dependency_level, p.dependency_level),
            )
        )
    ]
    location = service.locations[0] if service.locations else None
    return {
        "id": service.id,
        "name": org.name if org else service.name,
        "finess": org.finess if org else None,
        "city": location.city if location else None,
        "price": min((p.amount for p in prices if p.amount is not None), default=None),
        "prices": [
            {
                "type": str(p.price_type) if p.price_type else None,
                "amount": p.amount,
                "currency": p.currency,
                "room": str(p.residential_type) if p.residential_type else None,
                "stay": str(p.welcome_type) if p.welcome_type else None,
                "dependency": str(p.dependency_level) if p.dependency_level else None,
                "valid_from": p.valid_from,
            }
            for p in prices
        ],
    }


def _search_practitioners(args: argparse.Namespace) -> CommandResult:
    from ..errors import InputError
    from ..ror.messages import Include

    if args.max_pages < 1:
        raise InputError(f"--max-pages must be at least 1, not {args.max_pages}")
    with _client(args) as client:
        if args.service:
            roles = [(args.service, r) for r in client.practitioners(args.service)]
        else:
            services = client.services(
                organization_finess=args.finess,
                organization_hierarchy=True,
                include={Include.PRACTITIONERS},
                max_pages=args.max_pages,
            )
            roles = [(s.id, r) for s in services for r in s.roles]
    rows = [
        {
            "service": service_id,
            "role": role.id,
            "identifier": role.identifiers[0].value if role.identifiers else None,
            "profession": str(role.codes[0]) if role.codes else None,
            "name": role.exercise_name or None,
            "id_nat_ps": role.practitioner.id_nat_ps if role.practitioner else None,
            "email": next((t.value for t in role.practitioner.telecoms if "@" in t.value), None)
            if role.practitioner
            else None,
        }
        for service_id, role in roles
    ]
    return CommandResult(
        data={"returned": len(rows), "results": rows},
        text=_table(rows) + f"\n{len(rows)} role(s)",
    )


def _row(match: Any) -> dict[str, Any]:
    from ..ror.models import HealthcareService, Location, Organization

    if isinstance(match, Organization):
        return {
            "id": match.id,
            "name": match.name,
            "finess": match.finess,
            "parent": match.parent.name if match.parent else None,
            "region": match.region,
        }
    if isinstance(match, HealthcareService):
        location = match.locations[0] if match.locations else None
        phone = next(
            (
                t.value
                for c in match.contacts
                for t in c.telecoms
                if c.confidentiality is None or c.confidentiality.code == "1"
            ),
            None,
        )
        return {
            "id": match.id,
            "name": match.name,
            "organization": match.organization.name if match.organization else None,
            "city": location.city if location else None,
            "phone": phone,
            "hours": match.opening_hours[0].label if match.opening_hours else None,
            "available": location.available_beds() if location else None,
            "specialty": str(match.specialties[0]) if match.specialties else None,
            "ages": f"{match.age_low:g}-{match.age_high:g}"
            if match.age_low is not None and match.age_high is not None
            else None,
            "patient_types": [str(c) for c in match.patient_types],
            "intervention_zone": [c.code for c in match.intervention_zone],
            "opening_hours": [h.label for h in match.opening_hours],
            "contacts": [
                {
                    "purpose": str(c.purpose) if c.purpose else None,
                    "name": c.name or None,
                    "confidentiality": str(c.confidentiality) if c.confidentiality else None,
                    "telecoms": [t.value for t in c.telecoms],
                }
                for c in match.contacts
            ],
            "practitioners": [r.exercise_name for r in match.roles if r.exercise_name],
        }
    if isinstance(match, Location):
        return {
            "id": match.id,
            "name": match.name,
            "sync_id": match.sync_id,
            "city": match.city,
            "available_beds": match.available_beds(),
            "capacities": [
                {
                    "type": c.capacity_type.code if c.capacity_type else None,
                    "status": c.status.code if c.status else None,
                    "gender": c.gender.code if c.gender else None,
                    "count": c.count,
                }
                for c in match.capacities
            ],
        }
    return {"id": getattr(match, "id", "")}


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no result)"
    columns = [k for k in rows[0] if not isinstance(rows[0][k], list | dict)]
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [min(48, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    for row in cells:
        lines.append("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _capacity(args: argparse.Namespace) -> CommandResult:
    from ..ror.models import CapacityUpdate

    update = CapacityUpdate(
        count=args.count,
        capacity_type=args.capacity_type,
        status=args.status,
        temporality=args.temporality,
        gender=args.gender,
        additional_bed_type=args.additional_bed_type,
        crisis_type=args.crisis_type,
        temporary_assignment=args.temporary_assignment,
    )
    with _client(args) as client:
        outcome = client.publish_capacity(args.location, update)
    issues = [
        {"severity": i.severity, "code": i.rule, "message": i.message, "expression": i.location}
        for i in outcome.issues
    ]
    lines = [f"{outcome.status.value} (HTTP {outcome.http_status}) {args.location}"]
    lines.extend(f"  {i['code']}: {i['message']}" for i in issues)
    return CommandResult(
        data={
            "status": outcome.status.value,
            "http_status": outcome.http_status,
            "location": args.location,
            "issues": issues,
        },
        text="\n".join(lines),
        exit_code=0 if outcome.ok else 1,
    )


class _ProgressBar:
    """A one-line progress bar on a terminal (redrawn with a carriage return); on a pipe or
    a file, one plain line per phase instead of carriage-return frames."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.terminal = sys.stderr.isatty()
        self.phase = ""

    def __call__(self, progress: Any) -> None:
        if not self.enabled:
            return
        if not self.terminal:
            if progress.phase != self.phase:
                self.phase = progress.phase
                detail = progress.message or ""
                if progress.phase == "done":
                    detail = f"{progress.files_done} file(s), {progress.bytes_done / 1e6:.1f} MB"
                print(
                    f"export: {progress.phase}{': ' + detail if detail else ''}",
                    file=sys.stderr,
                    flush=True,
                )
            return
        if progress.phase == "fetching" and progress.files_total:
            ratio = progress.files_done / progress.files_total
            label = f"{progress.files_done}/{progress.files_total} files"
            label += f", {progress.bytes_done / 1e6:.1f} MB"
        else:
            ratio = (progress.percent or 0.0) / 100
            label = progress.message or progress.phase
        filled = int(30 * min(1.0, ratio))
        bar = "#" * filled + "-" * (30 - filled)
        sys.stderr.write(f"\r{progress.phase:<9} [{bar}] {label:<40}")
        if progress.phase == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()


def _export(args: argparse.Namespace) -> CommandResult:
    with _client(args) as client:
        result = client.export(
            args.out,
            types=args.types or ["HealthcareService"],
            since=args.since,
            progress=_ProgressBar(not args.no_progress and not args.json),
        )
    files = [{"type": f.resource_type, "path": f.path, "bytes": f.size} for f in result.files]
    text = "\n".join(f"{f['path']}  {f['bytes']} bytes" for f in files) or "(no output)"
    return CommandResult(
        data={"transaction_time": result.transaction_time, "files": files}, text=text
    )
