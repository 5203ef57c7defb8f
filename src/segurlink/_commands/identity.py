"""``segurlink identity check-nir``."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import CommandResult

__all__ = ["register"]


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    identity = groups.add_parser("identity", help="identity tools (NIR / NIA / INS)")
    commands = identity.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    check = commands.add_parser(
        "check-nir",
        parents=[common],
        help=(
            "check the key of a NIR / NIA (15 chars, or 13 + key); "
            "exit 1 when the key is wrong, 2 when it is not a NIR"
        ),
    )
    check.add_argument("nir", nargs="+", help="e.g. 2751263220749 74, or 297022A02077878")
    check.set_defaults(handler=_check_nir)


def _check_nir(args: argparse.Namespace) -> CommandResult:
    from ..identity.nir import nir_key, split_nir

    text = "".join(args.nir)
    matricule, key = split_nir(text)
    expected = f"{nir_key(matricule):02d}"
    valid = key == expected
    data = {"matricule": matricule, "key": key, "expected_key": expected, "valid": valid}
    if valid:
        return CommandResult(data=data, text=f"{matricule} {key}: valid key")
    # The command's verdict, like `cda validate` on an invalid document: exit 1, not 2.
    return CommandResult(
        data=data, text=f"{matricule} {key}: invalid key, expected {expected}", exit_code=1
    )
