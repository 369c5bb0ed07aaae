"""`weightline server`: protect version and stage tags on the shared git repository.

    weightline server install-hook /srv/git/project.git --dvc-remote /srv/dvc/project

installs a pre-receive hook (ops/server.py) that refuses deleting or moving version and stage
tags, versions whose weights the DVC remote lacks, and stage events that would not come last.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weightline import api
from weightline.cli.main import Adder, json_flag
from weightline.cli.output import print_json


def cmd_server(args: argparse.Namespace) -> int:
    if args.action == "install-hook":
        if not args.dvc_remote:
            print(
                "weightline: install-hook needs --dvc-remote URL: the DVC remote that must hold "
                "a version's weights before its tag is accepted",
                file=sys.stderr,
            )
            return 2
        hook = api.install_server_hook(
            Path(args.repository), args.dvc_remote, args.dvc_remote_option, args.force
        )
        if args.json:
            print_json({"hook": str(hook), "dvc_remote": args.dvc_remote})
        else:
            print(f"installed {hook}: version and stage tags are protected; weights checked in "
                  f"{args.dvc_remote}")  # fmt: skip
        return 0
    from weightline.ops.server import pre_receive

    problems = pre_receive(sys.stdin)
    for problem in problems:  # git shows them to the pusher, prefixed with "remote:"
        print(f"weightline: {problem}", file=sys.stderr)
    return 1 if problems else 0


def add_commands(add: Adder) -> None:
    server = add("server", cmd_server, "protect version and stage tags on the shared git server")
    server.add_argument(
        "action",
        choices=["install-hook", "pre-receive"],
        help="install-hook: into a (bare) repository; pre-receive: what the installed hook runs",
    )
    server.add_argument("repository", nargs="?", default=".", help="the server's git repository")
    server.add_argument("--dvc-remote", metavar="URL", help="the DVC remote's URL (install-hook)")
    server.add_argument(
        "--dvc-remote-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a DVC remote setting, e.g. endpointurl=http://127.0.0.1:9000 (repeatable)",
    )
    server.add_argument(
        "--force", action="store_true", help="replace a pre-receive hook that is not weightline's"
    )
    json_flag(server)
