"""``segurlink mock serve``: the local mocks as a program (``segurlink demo`` is in
:mod:`segurlink._commands.demo`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..cli import CommandResult
from ._args import non_empty, port

__all__ = ["ready_data", "register"]


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
