"""The `weightline` command: one subcommand per verb, each a thin layer over a module.

Every expected failure is a WeightlineError: printed as one message that says what to do, exit 1.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import settings as project
from .errors import WeightlineError


def table(rows: list[dict], columns: Sequence[str]) -> str:
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_manifest(args: argparse.Namespace) -> None:
    from .manifest import write

    written = write(project.load())
    print(
        f"manifest: {written['artifact']} weights sha256 {written['weights']['sha256'][:16]}..., "
        f"{len(written['data']['inputs'])} data inputs, metrics {written['metrics']}"
    )


def cmd_register(args: argparse.Namespace) -> None:
    from .publish import push_versions
    from .registry import register

    settings = project.load()
    done = register(settings, bump=args.bump, version=args.version)
    print(f"registered {done.version.name} ({done.bump.level}: {done.bump.reason})")
    if args.push:
        pushed = push_versions(settings, [done.version.name], args.git_remote, args.dvc_remote)
        print(f"pushed weights, then {', '.join(pushed) or 'no new tags'}")


def cmd_push(args: argparse.Namespace) -> None:
    from .publish import push_versions
    from .registry import resolve

    settings = project.load()
    names = [resolve(settings, ref).name for ref in args.refs] or None
    pushed = push_versions(settings, names, args.git_remote, args.dvc_remote)
    print(f"pushed weights, then {', '.join(pushed)}" if pushed else "nothing to push")


def cmd_ls(args: argparse.Namespace) -> None:
    from .tags import registered_versions

    settings = project.load()
    rows = []
    for v in reversed(registered_versions(settings.root, settings.artifact)):
        rows.append(
            {
                "version": str(v.version),
                "created": v.tag.date[:19].replace("T", " "),
                "author": v.tag.tagger,
                "commit": v.commit[:10],
                "bump": v.summary.get("bump", "?"),
                "metrics": " ".join(
                    f"{k}={val}" for k, val in v.summary.get("metrics", {}).items()
                ),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(table(rows, ["version", "created", "author", "commit", "bump", "metrics"]))
    else:
        print("no versions yet: train (dvc repro) and commit; the post-commit hook registers")


def cmd_show(args: argparse.Namespace) -> None:
    from .registry import read_manifest, resolve

    settings = project.load()
    version = resolve(settings, args.ref)
    print(json.dumps(read_manifest(settings, version.commit), indent=2))


def cmd_diff(args: argparse.Namespace) -> None:
    from .compare import diff
    from .registry import read_manifest, resolve

    settings = project.load()
    old, new = resolve(settings, args.old), resolve(settings, args.new)
    result = diff(read_manifest(settings, old.commit), read_manifest(settings, new.commit))
    if args.json:
        print(json.dumps({"old": old.name, "new": new.name, **result}, indent=2))
        return
    print(f"{old.name} -> {new.name}")
    print("weights: same bytes" if result["weights"]["same"] else "weights: different")
    for section in ("config", "environment"):
        print(f"{section}:" if result[section] else f"{section}: unchanged")
        for change in result[section]:
            print(f"  {change['key']}: {change['old']} -> {change['new']}")
    print("data:" if result["data"] else "data: unchanged")
    for change in result["data"]:
        print(f"  {change['path']}: {change['old']} -> {change['new']}")
    print("metrics:")
    for m in result["metrics"]:
        delta = f" ({m['delta']:+g})" if m["delta"] is not None else ""
        print(f"  {m['name']}: {m['old']} -> {m['new']}{delta}")
    signature = result["signature"]
    if not signature["changed"]:
        print("signature: unchanged")
    elif signature["breaking"]:
        print("signature: BREAKING: " + "; ".join(signature["breaking"]))
    else:
        print("signature: changed, compatible")


def cmd_checkout(args: argparse.Namespace) -> None:
    from .restore import checkout

    version = checkout(project.load(), args.ref)
    print(
        f"HEAD is now {version.name} (detached), weights verified. "
        "Back to work: git checkout main && dvc checkout"
    )


def cmd_get(args: argparse.Namespace) -> None:
    from .restore import get

    fetched = get(project.load(), args.ref, Path(args.output), args.dvc_remote)
    print(f"{fetched.version.name}: {fetched.weights} sha256 {fetched.sha256} (verified)")


def cmd_verify(args: argparse.Namespace) -> None:
    from .registry import resolve
    from .tags import registered_versions
    from .verify import verify

    settings = project.load()
    if args.all == bool(args.refs):
        raise WeightlineError("name versions to verify, or --all (not both)")
    versions = (
        registered_versions(settings.root, settings.artifact)
        if args.all
        else [resolve(settings, ref) for ref in args.refs]
    )
    reports = verify(settings, versions)
    for report in reports:
        print(f"{report.version.name}: {'ok' if report.ok else 'FAILED'}")
        for problem in report.problems:
            print(f"  - {problem}")
    if not all(r.ok for r in reports):
        raise WeightlineError(f"{sum(not r.ok for r in reports)} version(s) failed verification")


def cmd_hook(args: argparse.Namespace) -> None:
    from . import hooks

    settings = project.load()
    if args.hook == "post-commit":
        hooks.post_commit(settings)
    else:
        hooks.pre_push(settings, sys.stdin)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weightline", description="Versions of model weights as git tags, with lineage."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(func=func)
        return command

    add("manifest", cmd_manifest, "write models/manifest.json (the pipeline's last stage)")

    register = add("register", cmd_register, "tag the current commit as the next version")
    register.add_argument("--bump", choices=["major", "minor", "patch"])
    register.add_argument("--version", help="an explicit version, e.g. v2.0.0 (upward only)")
    register.add_argument("--push", action="store_true", help="then push weights, then the tag")
    register.add_argument("--git-remote")
    register.add_argument("--dvc-remote")

    push = add("push", cmd_push, "push weights to the DVC remote, then version tags to git")
    push.add_argument("refs", nargs="*", help="versions to push (default: all not yet pushed)")
    push.add_argument("--git-remote")
    push.add_argument("--dvc-remote")

    ls = add("ls", cmd_ls, "list registered versions, newest first")
    ls.add_argument("--json", action="store_true")

    show = add("show", cmd_show, "print the manifest of a version")
    show.add_argument("ref", help="vX.Y.Z or <artifact>@vX.Y.Z")

    diff = add("diff", cmd_diff, "compare two versions")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--json", action="store_true")

    checkout = add("checkout", cmd_checkout, "check out a version and pull its weights")
    checkout.add_argument("ref")

    get = add("get", cmd_get, "fetch a version's weights into a directory, verified")
    get.add_argument("ref")
    get.add_argument("-o", "--output", required=True, help="directory to write into")
    get.add_argument("--dvc-remote")

    verify = add("verify", cmd_verify, "check tags, manifests, dvc.lock and remote objects agree")
    verify.add_argument("refs", nargs="*")
    verify.add_argument("--all", action="store_true")
    hook = add("hook", cmd_hook, "what the git hooks in .githooks/ run")
    hook.add_argument("hook", choices=["post-commit", "pre-push"])
    hook.add_argument("hook_args", nargs="*", help="the arguments git gave the hook")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except WeightlineError as error:
        print(f"weightline: {error}", file=sys.stderr)
        return 1
    return 0
