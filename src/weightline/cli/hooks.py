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
    remote = args.hook_args[0] if args.hook_args else None
    api.pre_push(sys.stdin, remote)
    return 0


def add_commands(add: Adder) -> None:
    hook = add("hook", cmd_hook, "what the git hooks in .githooks/ run")
    hook.add_argument("hook", choices=["post-commit", "pre-push"])
    hook.add_argument("hook_args", nargs="*", help="the arguments git gave the hook")
