"""The `weightline` command: one subcommand per verb, each a thin layer over a module.

Every expected failure is a WeightlineError: printed as one message that says what to do, exit 1.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from weightline import settings as project
from weightline.errors import WeightlineError


def table(rows: list[dict], columns: Sequence[str]) -> str:
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_manifest(args: argparse.Namespace) -> None:
    from weightline.ops.manifest import write

    written = write(project.load())
    print(
        f"manifest: {written['artifact']} weights sha256 {written['weights']['sha256'][:16]}..., "
        f"{len(written['data']['inputs'])} data inputs, metrics {written['metrics']}"
    )


def cmd_register(args: argparse.Namespace) -> None:
    from weightline.ops.publish import push_versions
    from weightline.ops.register import register

    settings = project.load()
    done = register(settings, bump=args.bump, version=args.version, if_new=args.if_new)
    if done is None:
        print("HEAD is already a registered version (or holds one's weights): nothing to register")
    else:
        print(f"registered {done.version.name} ({done.bump.level}: {done.bump.reason})")
    if args.push:
        names = None if done is None else [done.version.name]
        pushed = push_versions(settings, names, args.git_remote, args.dvc_remote)
        print(f"pushed weights, then {', '.join(pushed) or 'no new tags'}")


def cmd_push(args: argparse.Namespace) -> None:
    from weightline.ops.publish import push_versions
    from weightline.ops.register import resolve

    settings = project.load()
    names = [resolve(settings, ref).name for ref in args.refs] or None
    pushed = push_versions(settings, names, args.git_remote, args.dvc_remote)
    print(f"pushed weights, then {', '.join(pushed)}" if pushed else "nothing to push")


def cmd_ls(args: argparse.Namespace) -> None:
    from weightline.store.index import open_index

    with open_index(project.load()) as index:
        versions, held = index.registered_versions(), index.stage_holders()
    stages: dict[str, list[str]] = {}
    for stage, version in held.items():
        stages.setdefault(version, []).append(stage)
    rows = [
        {
            "version": str(v.version),
            "created": v.tag.date[:19].replace("T", " "),
            "author": v.tag.tagger,
            "commit": v.commit[:10],
            "stage": ",".join(sorted(stages.get(v.name, []))),
            "bump": v.summary.get("bump", "?"),
            "metrics": " ".join(f"{k}={val}" for k, val in v.summary.get("metrics", {}).items()),
        }
        for v in reversed(versions)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        columns = ["version", "created", "author", "commit", "stage", "bump", "metrics"]
        print(table(rows, columns))
    else:
        print("no versions yet: train (dvc repro) and commit; the post-commit hook registers")


def cmd_show(args: argparse.Namespace) -> None:
    from weightline.store.index import open_index

    with open_index(project.load()) as index:
        print(json.dumps(index.manifest(args.ref), indent=2))


def cmd_diff(args: argparse.Namespace) -> None:
    from weightline.domain.compare import diff
    from weightline.domain.drift import drift_lines
    from weightline.ops.register import read_manifest, resolve

    settings = project.load()
    old, new = resolve(settings, args.old), resolve(settings, args.new)
    result = diff(read_manifest(settings, old.commit), read_manifest(settings, new.commit))
    if args.json:
        print(json.dumps({"old": old.name, "new": new.name, **result}, indent=2))
        return
    print(f"{old.name} -> {new.name}")
    print("weights: same bytes" if result["weights"]["same"] else "weights: different")
    print("config:" if result["config"] else "config: unchanged")
    for change in result["config"]:
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
    print("\n".join(drift_lines(result["drift"])))


def cmd_checkout(args: argparse.Namespace) -> None:
    from weightline.ops.restore import checkout

    version = checkout(project.load(), args.ref)
    print(
        f"HEAD is now {version.name} (detached), weights verified. "
        "Back to work: git checkout main && dvc checkout"
    )


def cmd_get(args: argparse.Namespace) -> None:
    from weightline.ops.restore import get

    fetched = get(project.load(), args.ref, Path(args.output), args.dvc_remote)
    print(f"{fetched.version.name}: {fetched.weights} sha256 {fetched.sha256} (verified)")


def cmd_verify(args: argparse.Namespace) -> None:
    from weightline.domain.tags import registered_versions
    from weightline.ops.register import resolve
    from weightline.ops.verify import verify
    from weightline.store.index import open_index

    settings = project.load()
    if args.all == bool(args.refs):
        raise WeightlineError("name versions to verify, or --all (not both)")
    versions = (
        registered_versions(settings.root, settings.artifact)
        if args.all
        else [resolve(settings, ref) for ref in args.refs]
    )
    with open_index(settings) as index:  # it remembers each version tag as first seen
        tampered = index.tampering()
    reports = verify(settings, versions)
    for report in reports:
        if report.version.name in tampered:
            report.problems.insert(0, tampered.pop(report.version.name))
    failed = [r for r in reports if not r.ok]
    for report in reports:
        print(f"{report.version.name}: {'ok' if report.ok else 'FAILED'}")
        for problem in report.problems:
            print(f"  - {problem}")
    for name, problem in sorted(tampered.items()) if args.all else ():
        print(f"{name}: FAILED\n  - {problem}")
    if failed or (args.all and tampered):
        count = len(failed) + (len(tampered) if args.all else 0)
        raise WeightlineError(f"{count} version(s) failed verification")


def cmd_promote(args: argparse.Namespace) -> None:
    from weightline.ops.gate import table
    from weightline.ops.promote import promote

    tag, report = promote(project.load(), args.ref, args.to, args.reason)
    if report is not None:
        print(table(report))
    if not tag:
        raise WeightlineError(f"not promoted to {args.to}: the gate did not pass (see above)")
    print(f"promoted: {tag}")


def cmd_rollback(args: argparse.Namespace) -> None:
    from weightline.ops.promote import rollback
    from weightline.ops.register import resolve

    settings = project.load()
    unassigned, assigned = rollback(settings, args.stage, args.reason)
    version = resolve(settings, args.stage)
    print(f"rolled back {args.stage} to {version.name} ({unassigned}, {assigned})")


def cmd_archive(args: argparse.Namespace) -> None:
    from weightline.ops.promote import archive

    print("archived: " + ", ".join(archive(project.load(), args.ref, args.reason)))


def cmd_stages(args: argparse.Namespace) -> None:
    from weightline.ops.promote import History
    from weightline.store.index import open_index

    with open_index(project.load()) as index:
        past = History(index.registered_versions(), index.stage_events())
    events = past.events if args.history else sorted(past.held.values(), key=lambda e: e.stage)
    rows = [
        {
            "stage": e.stage,
            "version": str(e.version.version),
            "event": e.action + ("" if e.assigned else " (unassigned)"),
            "since": e.tag.date[:19].replace("T", " "),
            "by": e.tag.tagger,
            "from": e.summary.get("from_version") or "",
            "reason": e.summary.get("reason") or "",
            "tag": e.tag.name,
        }
        for e in events
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(table(rows, ["stage", "version", "event", "since", "by", "from", "reason"]))
    else:
        print("no stage assigned yet: weightline promote vX.Y.Z --to staging")


def cmd_gate(args: argparse.Namespace) -> None:
    from weightline.ops.gate import Candidate, check, table
    from weightline.ops.promote import history
    from weightline.ops.register import resolve
    from weightline.store import git

    settings = project.load()
    if args.ref == "HEAD":
        candidate = Candidate("HEAD", git.head(settings.root), "HEAD")
    else:
        candidate = Candidate.of(resolve(settings, args.ref))
    report = check(settings, candidate, history(settings).held.get("production"))
    print(json.dumps(report, indent=2) if args.json else table(report))
    if not report["passed"]:
        raise WeightlineError(f"{candidate.name} does not pass the production gate")


def cmd_predict(args: argparse.Namespace) -> None:
    import pandas as pd

    from weightline.ops.loading import load_version, read_frame

    loaded = load_version(project.load(), args.ref)
    values = loaded.predict(read_frame(Path(args.input)))
    names = [c.name for c in loaded.signature.outputs]
    frame = pd.DataFrame(values.reshape(len(values), -1), columns=names)
    if args.output:
        frame.to_csv(args.output, index=False)
        print(f"{loaded.version.name}: {len(frame)} predictions in {args.output}")
    else:
        print(frame.to_csv(index=False), end="")


def cmd_resolve(args: argparse.Namespace) -> None:
    from weightline.ops.register import resolve

    version = resolve(project.load(), args.ref)
    if args.json:
        print(
            json.dumps(
                {"tag": version.name, "version": str(version.version), "commit": version.commit}
            )
        )
    else:
        print(version.name)


def cmd_hook(args: argparse.Namespace) -> None:
    from weightline.ops import hooks

    settings = project.load()
    if args.hook == "post-commit":
        hooks.post_commit(settings)
    else:
        hooks.pre_push(settings, sys.stdin)


class _Unused:
    """Stands in for the parsers of commands not being run: their arguments are never needed."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        pass

    def add_mutually_exclusive_group(self, *args: object, **kwargs: object) -> "_Unused":
        return self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, just that command's parser (a quicker start)."""
    from weightline import __version__

    parser = argparse.ArgumentParser(
        prog="weightline", description="Versions of model weights as git tags, with lineage."
    )
    parser.add_argument("--version", action="version", version=f"weightline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names: list[str] = []

    def add(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        names.append(name)
        if only is not None and name != only:
            return _Unused()  # type: ignore[return-value]
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(func=func)
        return command

    add("manifest", cmd_manifest, "write models/manifest.json (the pipeline's last stage)")

    register = add("register", cmd_register, "tag the current commit as the next version")
    register.add_argument("--bump", choices=["major", "minor", "patch"])
    register.add_argument("--version", help="an explicit version, e.g. v2.0.0 (upward only)")
    register.add_argument("--push", action="store_true", help="then push weights, then the tag")
    register.add_argument(
        "--if-new",
        action="store_true",
        help="for CI: succeed without a tag when HEAD (or its weights) is already a version",
    )
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
    promote = add("promote", cmd_promote, "assign a stage to a version (production: gated)")
    promote.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage (staging)")
    promote.add_argument("--to", required=True, help="the stage, as listed in .gto")
    promote.add_argument("--reason", default="", help="recorded in the stage tag")

    rollback = add("rollback", cmd_rollback, "give a stage back to the version it held before")
    rollback.add_argument("stage")
    rollback.add_argument("--reason", default="")

    archive = add("archive", cmd_archive, "move a version to the archived stage")
    archive.add_argument("ref")
    archive.add_argument("--reason", default="")

    stages = add("stages", cmd_stages, "who holds each stage, since when, assigned by whom")
    stages.add_argument("--history", action="store_true", help="every stage event, oldest first")
    stages.add_argument("--json", action="store_true")

    gate = add("gate", cmd_gate, "run the production gate without promoting (for CI)")
    gate.add_argument("ref", help="a version, or HEAD for an unregistered candidate")
    gate.add_argument("--json", action="store_true")

    predict = add("predict", cmd_predict, "predict with a version, inputs checked by its signature")
    predict.add_argument("ref")
    predict.add_argument("--input", required=True, help=".csv, .parquet or .json (records)")
    predict.add_argument("--output", help="CSV file to write (default: standard output)")

    resolve = add("resolve", cmd_resolve, "print the exact version a reference names")
    resolve.add_argument("ref", help="a version, a stage or a stage tag (model#production#7)")
    resolve.add_argument("--json", action="store_true")

    from weightline.cli.registry import add_commands  # query, sql, drift, report, reproduce

    add_commands(add)

    hook = add("hook", cmd_hook, "what the git hooks in .githooks/ run")
    hook.add_argument("hook", choices=["post-commit", "pre-push"])
    hook.add_argument("hook_args", nargs="*", help="the arguments git gave the hook")
    if only is not None and only not in names:
        return build_parser()  # not a command (or --help): the full parser lists them all
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    first = argv[0] if argv and not argv[0].startswith("-") else None
    args = build_parser(only=first).parse_args(argv)
    try:
        args.func(args)
    except WeightlineError as error:
        print(f"weightline: {error}", file=sys.stderr)
        return 1
    return 0
