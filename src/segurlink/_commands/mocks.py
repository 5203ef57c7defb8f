"""``segurlink mock serve`` and ``segurlink demo``: the local mocks as a program, and a
walk-through of the INSi capabilities against them."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from ..cli import CommandResult
from ._args import non_empty, port

__all__ = ["ready_data", "register", "run_demo"]

# Test persons of the INSi qualification platform (served by the INSi mock).
DEMO_SEARCHES: tuple[dict[str, str], ...] = (
    {"birth_name": "ADRTROIS", "first_names": "DOMINIQUE", "sex": "F", "birth_date": "1997-02-26"},
    {
        "birth_name": "TCHITCHI",
        "first_names": "OLA CATARINA",
        "sex": "F",
        "birth_date": "1936-06-21",
    },
    {"birth_name": "DE VINCI", "first_names": "LEONARDO", "sex": "M", "birth_date": "2014-02-01"},
    {
        "birth_name": "HOUILLES",
        "first_names": "PIERRE PAUL JACQUES",
        "sex": "M",
        "birth_date": "1993-01-27",
    },
)


def register(groups: Any, common: argparse.ArgumentParser) -> None:
    mock = groups.add_parser("mock", help="run the local mocks of the national services")
    commands = mock.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the mocks until Ctrl-C and write their client settings file "
        "(--json: print the URLs and settings path as one JSON document once ready); "
        "refuses a directory where mocks already run",
    )
    serve.add_argument("--dir", type=Path, help="state directory (default ~/.cache/segurlink/mock)")
    serve.add_argument("--host", type=non_empty, default="127.0.0.1")
    serve.add_argument("--insi-port", type=port, default=0, help="INSi port (0: any free one)")
    serve.add_argument(
        "--psc-login-page",
        action="store_true",
        help="the PSC mock shows its login page (pick a test professional, or cancel) "
        "instead of auto-approving",
    )
    serve.set_defaults(handler=_serve)

    demo = groups.add_parser(
        "demo", parents=[common], help="start the mocks in-process and walk through INSi"
    )
    demo.set_defaults(handler=_demo)


def _serve(args: argparse.Namespace) -> CommandResult:
    from segurlink_mocks._core.installation import default_state_dir
    from segurlink_mocks.stack import MockDirectoryBusy, serve_forever

    from ..errors import ConfigurationError

    def announce(stack: Any) -> None:
        if args.json:  # the one JSON document of the command, once every mock listens
            print(json.dumps(ready_data(stack)), flush=True)

    directory = args.dir or default_state_dir()
    try:
        serve_forever(
            directory,
            args.host,
            args.insi_port,
            on_ready=announce,
            psc_login_page=args.psc_login_page,
        )
    except MockDirectoryBusy as exc:
        raise ConfigurationError(str(exc)) from exc
    except OSError as exc:  # a fixed port in use, an unwritable directory
        raise ConfigurationError(f"cannot start the mocks in {directory}: {exc}") from exc
    return CommandResult(data=None, text="mocks stopped")


def ready_data(stack: Any) -> dict[str, Any]:
    """What ``mock serve --json`` prints once ready: settings file, PKI, one URL per mock,
    and the PSC mock's test client (id, secret, redirect URIs) a DUI front-end needs."""
    return {
        "settings": str(stack.config_path),
        "pki": str(stack.pki.directory),
        "mocks": stack.urls(),
        "control": {name: f"{mock.url}/_mock/" for name, mock in stack.mocks.items()},
        "psc_client": stack.psc.client_registration(),
        "replaced_stale_settings": stack.replaced_stale is not None,
    }


def _demo(args: argparse.Namespace) -> CommandResult:
    from segurlink_mocks.stack import MockStack

    with (
        tempfile.TemporaryDirectory(prefix="segurlink-demo-") as tmp,
        MockStack(Path(tmp)) as stack,
    ):
        steps, lines = run_demo(stack.settings())
    return CommandResult(data={"steps": steps}, text="\n".join(lines))


def run_demo(settings: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Search the demo persons, qualify one identity and verify it; returns (data, text)."""
    from ..identity import IdDocumentKind, IdentityRecord, IdentityTraits
    from ..insi import InsiClient
    from .insi import outcome_data, outcome_text

    steps: list[dict[str, Any]] = []
    found: dict[str, Any] = {}
    with InsiClient.from_settings(settings) as insi:
        lines: list[str] = [f"INSi mock at {insi.settings.endpoint}", ""]
        for person in DEMO_SEARCHES:
            traits = IdentityTraits.from_input(**person)
            outcome = insi.search(traits)
            steps.append({"search": person, **outcome_data(outcome)})
            lines.append(f"search {person['birth_name']} {person['first_names']}")
            lines.extend("  " + line for line in outcome_text(outcome).splitlines())
            if outcome.identity is not None:
                found[person["birth_name"]] = (traits, outcome.identity)

        traits, identity = found["TCHITCHI"]
        record = IdentityRecord(traits)
        statuses = [record.status.value]
        record = record.with_insi_result(identity.ins, identity.traits, identity.previous_ins)
        statuses.append(record.status.value)
        record = record.with_id_document(IdDocumentKind.PASSPORT)
        statuses.append(record.status.value)
        ins = record.shareable_ins()
        steps.append(
            {
                "qualify": "TCHITCHI",
                "statuses": statuses,
                "ins": ins.value,
                "mssante_address": ins.mssante_address,
            }
        )
        lines += [
            "",
            "qualify TCHITCHI: " + " -> ".join(statuses) + " (INSi result, then passport)",
            f"  shareable INS {ins.value}, MSSanté address {ins.mssante_address}",
        ]

        verification = insi.verify(ins, record.traits)
        steps.append(
            {
                "verify": "TCHITCHI",
                "ok": verification.ok,
                "mismatches": [m.field for m in verification.mismatches],
                "calls": len(verification.outcome.attempts),
            }
        )
        lines.append(
            f"verify TCHITCHI: {'OK' if verification.ok else 'mismatch'}"
            f" ({len(verification.outcome.attempts)} call(s))"
        )
    return steps, lines
