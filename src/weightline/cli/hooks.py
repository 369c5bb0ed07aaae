"""`weightline hook`: what the git hooks in a project's .githooks/ run."""

from __future__ import annotations

import argparse
import sys

from weightline import api
from weightline.cli.main import Adder


def cmd_hook(args: argparse.Namespace) -> int:
    if args.hook == "post-commit":
        outcome = api.post_commit()
        if outcome.action != "skipped":
            # git shows a hook's output on stderr; a refusal never undoes the commit
            print(f"weightline: {outcome.message}", file=sys.stderr)
        return 0
    import os

    from weightline.ops.publish import DVC_REMOTE_VARIABLE

    remote = args.hook_args[0] if args.hook_args else None
    url = args.hook_args[1] if len(args.hook_args) > 1 else None
    # `weightline push --dvc-remote NAME` sent the weights there and tells its own hook so
    api.pre_push(sys.stdin, remote, url, os.environ.get(DVC_REMOTE_VARIABLE) or None)
    return 0


def add_commands(add: Adder) -> None:
    hook = add("hook", cmd_hook, "what the git hooks in .githooks/ run")
    hook.add_argument("hook", choices=["post-commit", "pre-push"])
    hook.add_argument("hook_args", nargs="*", help="the arguments git gave the hook")
