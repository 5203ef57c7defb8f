"""``python -m segurlink_mocks``: run every mock until Ctrl-C (same as ``segurlink mock serve``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._core.installation import default_state_dir
from .stack import MockDirectoryBusy, serve_forever


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segurlink_mocks",
        description="Run the segurlink mocks of the national services over mutual TLS.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="state directory: PKI, settings file (default: $SEGURLINK_MOCK_DIR or "
        "~/.cache/segurlink/mock)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--insi-port", type=int, default=0, help="INSi port (0: any free port)")
    parser.add_argument(
        "--psc-login-page", action="store_true", help="the PSC mock shows its login page"
    )
    args = parser.parse_args(argv)
    try:
        serve_forever(
            args.dir or default_state_dir(),
            args.host,
            args.insi_port,
            psc_login_page=args.psc_login_page,
        )
    except MockDirectoryBusy as exc:
        print(f"segurlink mocks: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"segurlink mocks: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
