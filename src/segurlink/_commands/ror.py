"""``segurlink ror search|capacity|export``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import CommandResult, load_settings

__all__ = ["register"]


def _near(text: str) -> Any:
    from ..errors import InputError
    from ..ror.messages import Near

    try:
        lat, lon, *rest = (float(p) for p in text.split(","))
        if len(rest) > 1:
            raise ValueError("too many values")
        return Near(lat, lon, rest[0] if rest else 10.0)
    except (ValueError, InputError) as exc:
        raise argparse.ArgumentTypeError(f"expected LAT,LON[,KM]: {exc}") from None


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    ror = groups.add_parser("ror", help="ROR: search the offer, publish bed availability")
    commands = ror.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    search = commands.add_parser("search", help="search organisations, services or locations")
    kinds = search.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    paging = argparse.ArgumentParser(add_help=False)
    paging.add_argument("--count", type=int, help="results per page (_count, 1-1000)")
    paging.add_argument("--max-pages", type=int, default=5, help="stop after N pages (5)")
    paging.add_argument("--region", help="region code (TRE_R30), e.g. 24")
    paging.add_argument("--since", help="only resources updated since (YYYY-MM-DD or ISO)")
    paging.add_argument(
        "--fast", action="store_true", help="skip fhir.resources validation (bulk reads)"
    )

    orgs = kinds.add_parser("organizations", parents=[common, paging], help="organisations")
    orgs.add_argument("--finess")
    orgs.add_argument("--id-nat-struct")
    orgs.add_argument("--name")
    orgs.add_argument("--type", help="type code (e.g. TRE_R66 category)")
    orgs.add_argument("--parents", action="store_true", help="include the partOf hierarchy")
    orgs.set_defaults(handler=_search_organizations)

    services = kinds.add_parser("services", parents=[common, paging], help="healthcare services")
    services.add_argument("--name")
    services.add_argument("--category", help="service category (TRE_R244)")
    services.add_argument("--type", help="champ d'activité (TRE_R227)")
    services.add_argument("--specialty", help="activité opérationnelle (TRE_R211)")
    services.add_argument("--patient-type", help="public pris en charge (TRE_R239)")
    services.add_argument("--age", type=int, help="age of the person, in years")
    services.add_argument("--commune", help="COG code of a location")
    services.add_argument("--near", type=_near, help="LAT,LON[,KM] (default 10 km)")
    services.add_argument("--finess", help="FINESS of the providing organisation")
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
    locations.add_argument("--min-capacity", type=int, help="nbCapacity at least N")
    locations.set_defaults(handler=_search_locations)

    capacity = commands.add_parser(
        "capacity",
        parents=[common],
        help="publish one capacity indicator of a location (exit 1 unless accepted)",
    )
    capacity.add_argument("location", help="<idNatStructEG>/<externalSyncId>")
    capacity.add_argument("--count", type=int, required=True, help="nbCapacity")
    capacity.add_argument("--status", default="02", help="TRE_R330 (default 02 available)")
    capacity.add_argument("--capacity-type", default="01", help="TRE_R329 (default 01 bed)")
    capacity.add_argument("--temporality", default="01", help="TRE_R331 (default 01 current)")
    capacity.add_argument("--gender", default="", help="TRE_R332: 01 F, 02 M, 03 either")
    capacity.add_argument("--additional-bed-type", default="", help="TRE_R334")
    capacity.add_argument("--crisis-type", default="", help="TRE_R336")
    capacity.add_argument(
        "--temporary-assignment", default="01", help="TRE_R337 (default 01 none)"
    )
    capacity.set_defaults(handler=_capacity)

    export = commands.add_parser(
        "export", parents=[common], help="download the offer with $export (progress on stderr)"
    )
    export.add_argument("--out", required=True, help="directory for the output files")
    export.add_argument(
        "--type", action="append", dest="types", help="resource type (repeatable)"
    )
    export.add_argument("--since", help="only resources updated since")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(handler=_export)


def _client(args: argparse.Namespace) -> Any:
    from ..ror.client import RorClient

    return RorClient.from_settings(load_settings(args))


def _paging(args: argparse.Namespace) -> dict[str, Any]:
    return {"region": args.region, "updated_since": args.since, "count": args.count}


def _run(args: argparse.Namespace, method: str, criteria: dict[str, Any]) -> CommandResult:
    with _client(args) as client:
        results = getattr(client, method)(
            max_pages=args.max_pages, validation="fast" if args.fast else None, **criteria
        )
        rows = [_row(match) for match in results]
        total, truncated = results.total, results.truncated
    data = {"total": total, "returned": len(rows), "truncated": truncated, "results": rows}
    footer = f"{len(rows)} shown" + (f" of {total}" if total is not None else "")
    if truncated:
        footer += f" (stopped after {args.max_pages} page(s); use --max-pages)"
    return CommandResult(data=data, text=_table(rows) + "\n" + footer)


def _search_organizations(args: argparse.Namespace) -> CommandResult:
    return _run(
        args,
        "organizations",
        {
            "finess": args.finess,
            "id_nat_struct": args.id_nat_struct,
            "name": args.name,
            "type": args.type,
            "include_parents": args.parents,
            **_paging(args),
        },
    )


def _search_services(args: argparse.Namespace) -> CommandResult:
    return _run(
        args,
        "services",
        {
            "name": args.name,
            "category": args.category,
            "type": args.type,
            "specialty": args.specialty,
            "patient_type": args.patient_type,
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
            **_paging(args),
        },
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
        return {
            "id": match.id,
            "name": match.name,
            "specialty": str(match.specialties[0]) if match.specialties else None,
            "organization": match.organization.name if match.organization else None,
            "city": location.city if location else None,
            "available_beds": location.available_beds() if location else None,
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
    columns = [k for k in rows[0] if k != "capacities"]
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [
        min(48, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    for row in cells:
        lines.append(
            "  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        )
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
    """A one-line progress bar on stderr (redrawn with a carriage return)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, progress: Any) -> None:
        if not self.enabled:
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
    files = [
        {"type": f.resource_type, "path": f.path, "bytes": f.size} for f in result.files
    ]
    text = "\n".join(f"{f['path']}  {f['bytes']} bytes" for f in files) or "(no output)"
    return CommandResult(
        data={"transaction_time": result.transaction_time, "files": files}, text=text
    )
