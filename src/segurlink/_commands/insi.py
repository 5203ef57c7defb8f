"""``segurlink insi search|verify``."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import CommandResult, load_settings
from ..identity.ins import InsOid
from ._args import non_empty

__all__ = ["register"]


def _add_traits_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--birth-name", required=True, help="nom de naissance")
    parser.add_argument(
        "--first-names", required=True, help="birth first names, in ID-document order"
    )
    parser.add_argument("--sex", required=True, choices=["M", "F", "m", "f"])
    parser.add_argument("--birth-date", required=True, help="YYYY-MM-DD or DD/MM/YYYY")
    parser.add_argument("--birth-place", help="INSEE COG code of the birth place (5 chars)")
    parser.add_argument(
        "--send-birth-place",
        action="store_true",
        help="send the birth place on every call (default: only after a CR 02)",
    )


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    insi = groups.add_parser("insi", help="INSi: find and verify a person's INS")
    commands = insi.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    search = commands.add_parser(
        "search",
        parents=[common],
        help="search the INS from identity traits (exit 1 when no single identity is found)",
    )
    _add_traits_arguments(search)
    search.set_defaults(handler=_search)

    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="check a stored INS and traits against INSi (exit 1 on any mismatch)",
    )
    verify.add_argument(
        "--ins", type=non_empty, required=True, help="15-char INS (matricule + key)"
    )
    verify.add_argument("--oid", type=non_empty, default=InsOid.NIR.value, help="INS OID")
    _add_traits_arguments(verify)
    verify.set_defaults(handler=_verify)


def _traits(args: argparse.Namespace) -> Any:
    from ..identity import IdentityTraits

    return IdentityTraits.from_input(
        birth_name=args.birth_name,
        first_names=args.first_names,
        sex=args.sex,
        birth_date=args.birth_date,
        birth_place=args.birth_place,
    )


def outcome_data(outcome: Any) -> dict[str, Any]:
    """JSON-ready view of a :class:`SearchOutcome` (shown to the user who asked)."""
    result = outcome.result
    data: dict[str, Any] = {
        "code": result.code.value,
        "label": result.label,
        "attempts": [
            {
                "first_name_rank": a.first_name_rank,
                "birth_place_sent": a.birth_place_sent,
                "code": a.code.value,
                "message_id": a.message_id,
            }
            for a in outcome.attempts
        ],
    }
    identity = outcome.identity
    if identity is not None:
        data["ins"] = {"value": identity.ins.value, "oid": identity.ins.oid}
        data["history"] = [{"value": i.value, "oid": i.oid} for i in identity.previous_ins]
        t = identity.traits
        data["traits"] = {
            "birth_name": t.birth_name,
            "first_names": list(t.first_names),
            "sex": t.sex.value,
            "birth_date": t.birth_date,
            "birth_place": t.birth_place,
        }
    return data


def outcome_text(outcome: Any) -> str:
    result = outcome.result
    lines = [f"CR {result.code.value} {result.label} ({len(outcome.attempts)} call(s))"]
    identity = outcome.identity
    if identity is not None:
        t = identity.traits
        lines.append(f"INS      {identity.ins.value}  OID {identity.ins.oid}")
        for previous in identity.previous_ins:
            lines.append(f"previous {previous.value}  OID {previous.oid}")
        lines.append(
            f"traits   {t.birth_name} / {t.first_names_text} / {t.sex.value} / {t.birth_date}"
            f" / {t.birth_place or '-'}"
        )
    return "\n".join(lines)


def _search(args: argparse.Namespace) -> CommandResult:
    from ..insi import InsiClient

    traits = _traits(args)
    with InsiClient.from_settings(load_settings(args)) as client:
        outcome = client.search(traits, send_birth_place=args.send_birth_place)
    return CommandResult(
        data=outcome_data(outcome),
        text=outcome_text(outcome),
        exit_code=0 if outcome.found else 1,
    )


def _verify(args: argparse.Namespace) -> CommandResult:
    from ..identity import Ins
    from ..insi import InsiClient

    ins = Ins.parse(args.ins, oid=args.oid)
    traits = _traits(args)
    with InsiClient.from_settings(load_settings(args)) as client:
        verification = client.verify(ins, traits, send_birth_place=args.send_birth_place)
    data = outcome_data(verification.outcome)
    data["ok"] = verification.ok
    data["mismatches"] = [
        {"field": m.field, "stored": m.stored, "returned": m.returned}
        for m in verification.mismatches
    ]
    lines = [outcome_text(verification.outcome)]
    if verification.ok:
        lines.append("verified: INS and traits match")
    elif not verification.outcome.found:
        lines.append("not verified: INSi did not return a single identity")
    for m in verification.mismatches:
        lines.append(f"mismatch {m.field}: stored {m.stored!s} / INSi {m.returned!s}")
    return CommandResult(data=data, text="\n".join(lines), exit_code=0 if verification.ok else 1)
