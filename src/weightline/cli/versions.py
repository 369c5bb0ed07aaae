"""Commands about versions: make, push, list, show, compare, fetch, check and use them."""

from __future__ import annotations

import argparse
from pathlib import Path

from weightline import api
from weightline.cli.main import Adder, formats, json_flag, output_format
from weightline.cli.output import emit, print_json, table
from weightline.errors import Refused

TYPE_CHECKING = False  # `typing` for the type checker only (see weightline.settings)
if TYPE_CHECKING:
    from typing import Any


def cmd_manifest(args: argparse.Namespace) -> None:
    written = api.write_manifest()
    if args.json:
        print_json(written)
        return
    print(
        f"manifest: {written['artifact']} weights sha256 {written['weights']['sha256'][:16]}..., "
        f"{len(written['data']['inputs'])} data inputs, metrics {written['metrics']}"
    )


def cmd_register(args: argparse.Namespace) -> None:
    if args.push:
        register_and_push(args)
        return
    done = api.register(bump=args.bump, version=args.version, if_new=args.if_new)
    result: dict[str, Any] = {
        "registered": done.version.name if done else None,
        "bump": done.bump.level if done else None,
        "reason": done.bump.reason if done else None,
    }
    if args.json:
        print_json(result)
        return
    if done is None:
        print("HEAD is already a registered version (or holds one's weights): nothing to register")
    else:
        print(f"registered {done.version.name} ({done.bump.level}: {done.bump.reason})")


def register_and_push(args: argparse.Namespace) -> None:
    """--push: registered on top of the git remote's versions, and pushed, or an error."""
    published = api.register_and_push(
        args.bump, args.version, args.if_new, args.git_remote, args.dvc_remote
    )
    done, existing = published.registration, published.existing
    if args.json:
        print_json(
            {
                "registered": done.version.name if done else None,
                "bump": done.bump.level if done else None,
                "reason": done.bump.reason if done else None,
                "existing": existing.name if existing else None,
                "pushed": published.pushed.tags,
                "attempts": published.attempts,
            }
        )
        return
    if done is not None:
        again = (
            f" (attempt {published.attempts}: others pushed first)"
            if published.attempts > 1
            else ""
        )
        print(f"registered {done.version.name} ({done.bump.level}: {done.bump.reason}){again}")
    elif existing is not None:
        print(f"HEAD (or its weights) is already {existing.name}: nothing new to register")
    tags = published.pushed.tags
    print(f"pushed weights, then {', '.join(tags)}" if tags else "the git remote has it already")


def cmd_push(args: argparse.Namespace) -> None:
    pushed = api.push(args.refs, args.git_remote, args.dvc_remote, stages=not args.versions_only)
    if args.json:
        print_json({"versions": pushed.versions, "stages": pushed.stages})
    elif pushed.tags:
        print(f"pushed weights, then {', '.join(pushed.tags)}")
    else:
        print("nothing to push: the git remote has every version and stage tag")


def cmd_ls(args: argparse.Namespace) -> None:
    rows = api.versions()
    if args.json:
        print_json(rows)
        return
    if not rows:
        print("no versions yet: train (dvc repro) and commit; the post-commit hook registers")
        return
    shown = [
        {
            "version": r["version"],
            "created": r["created"][:19].replace("T", " "),
            "author": r["author"],
            "commit": r["commit"][:10],
            "stage": ",".join(r["stages"]),
            "bump": r["bump"],
            "metrics": " ".join(f"{k}={v}" for k, v in r["metrics"].items()),
        }
        for r in rows
    ]
    print(table(shown, ["version", "created", "author", "commit", "stage", "bump", "metrics"]))


def cmd_show(args: argparse.Namespace) -> None:
    manifest = api.show(args.ref)
    if args.json:
        print_json(manifest)
        return
    weights, data = manifest["weights"], manifest["data"]
    run, code = manifest.get("run") or {}, manifest.get("code") or {}
    lines = [
        f"artifact   {manifest['artifact']}",
        f"weights    {weights['path']} ({weights['size']} bytes, {weights['format']})",
        f"sha256     {weights['sha256']}",
        f"trained    {run.get('started', '?')} by {run.get('user', '?')} on {run.get('host', '?')}",
        f"commit     {code.get('commit') or '?'} ({code.get('branch') or 'detached'}"
        + (", dirty" if code.get("dirty") else "")
        + ")",
        "data",
        *(f"  {item['path']}: {item['md5']} ({item.get('rows')} rows)" for item in data["inputs"]),
    ]
    if data.get("holdout"):
        holdout = data["holdout"]
        assert holdout is not None
        lines.append(f"  {holdout['path']} (hold-out): {holdout['md5']}")
    lines.append("metrics")
    lines += [f"  {name}: {value}" for name, value in manifest["metrics"].items()]
    from weightline.domain.bump import flatten

    lines.append("config")
    lines += [f"  {key}: {value}" for key, value in flatten(manifest["config"]).items()]
    lines.append("(--json for the whole manifest)")
    print("\n".join(lines))


def cmd_diff(args: argparse.Namespace) -> None:
    from weightline.domain.drift import drift_lines

    result = api.diff(args.old, args.new)
    if args.json:
        print_json(result)
        return
    print(f"{result['old']} -> {result['new']}")
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


def cmd_resolve(args: argparse.Namespace) -> None:
    version = api.resolve(args.ref)
    if args.json:
        print_json({"tag": version.name, "version": str(version.version), "commit": version.commit})
    else:
        print(version.name)


def cmd_checkout(args: argparse.Namespace) -> None:
    version = api.checkout(args.ref)
    if args.json:
        print_json({"tag": version.name, "commit": version.commit, "verified": True})
        return
    print(
        f"HEAD is now {version.name} (detached), weights verified. "
        "Back to work: git checkout main && dvc checkout"
    )


def cmd_get(args: argparse.Namespace) -> None:
    fetched = api.get(args.ref, Path(args.output), args.dvc_remote)
    if args.json:
        print_json(
            {
                "tag": fetched.version.name,
                "weights": str(fetched.weights),
                "sha256": fetched.sha256,
                "source": fetched.source,
            }
        )
        return
    print(f"{fetched.version.name}: {fetched.weights} sha256 {fetched.sha256} (verified)")


def cmd_verify(args: argparse.Namespace) -> None:
    if args.all == bool(args.refs):
        raise Refused("name versions to verify, or --all (not both)")
    reports = api.verify(args.refs, everything=args.all)
    failed = [r for r in reports if not r.ok]
    if args.json:
        print_json([{"version": r.name, "ok": r.ok, "problems": r.problems} for r in reports])
    else:
        for report in reports:
            print(f"{report.name}: {'ok' if report.ok else 'FAILED'}")
            for problem in report.problems:
                print(f"  - {problem}")
    if failed:
        from weightline.errors import IntegrityError

        raise IntegrityError(f"{len(failed)} version(s) failed verification")


def cmd_predict(args: argparse.Namespace) -> None:
    import pandas as pd

    features = api.read_frame(Path(args.input))
    loaded = api.load_model(args.ref)
    predictions = loaded.predict(features)
    frame = (
        predictions if isinstance(predictions, pd.DataFrame) else legacy_frame(loaded, predictions)
    )
    if args.output:
        text = frame.to_json(orient="records") if args.output.endswith(".json") else None
        written = api.write_output(Path(args.output), text or frame.to_csv(index=False))
        print(f"{loaded.version.name}: {len(frame)} predictions in {written}")
        return
    fmt = output_format(args)
    rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    emit(rows, [str(c) for c in frame.columns], fmt, "no rows")


def legacy_frame(loaded: Any, values: Any) -> Any:
    """Predictions of a loader that returns an array, named by the signature's outputs."""
    import pandas as pd

    names = [c.name for c in loaded.signature.outputs]
    return pd.DataFrame(values.reshape(len(values), -1), columns=names)


def cmd_settings(args: argparse.Namespace) -> None:
    values = api.settings().public()
    if args.key:
        if args.key not in values:
            from weightline.errors import NotFound

            raise NotFound(f"no setting {args.key!r}: known are {', '.join(sorted(values))}")
        value = values[args.key]
        print_json(value) if args.json else print(
            ",".join(map(str, value)) if isinstance(value, list | tuple) else value
        )
        return
    if args.json:
        print_json(values)
    else:
        print(table([{"key": k, "value": v} for k, v in values.items()], ["key", "value"]))


def add_commands(add: Adder) -> None:
    manifest = add(
        "manifest", cmd_manifest, "write models/manifest.json (the pipeline's last stage)"
    )
    json_flag(manifest)

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
    json_flag(register)

    push = add("push", cmd_push, "push weights to the DVC remote, then version and stage tags")
    push.add_argument("refs", nargs="*", help="versions to push (default: all the remote lacks)")
    push.add_argument("--git-remote")
    push.add_argument("--dvc-remote")
    push.add_argument("--versions-only", action="store_true", help="leave stage tags out")
    json_flag(push)

    ls = add("ls", cmd_ls, "list registered versions, newest first")
    json_flag(ls)

    show = add("show", cmd_show, "describe a version (its manifest)")
    show.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage")
    json_flag(show)

    diff = add("diff", cmd_diff, "compare two versions")
    diff.add_argument("old")
    diff.add_argument("new")
    json_flag(diff)

    resolve = add("resolve", cmd_resolve, "the exact version a reference names")
    resolve.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z, a stage, a stage tag or HEAD")
    json_flag(resolve)

    checkout = add("checkout", cmd_checkout, "check out a version and pull its weights")
    checkout.add_argument("ref")
    json_flag(checkout)

    get = add("get", cmd_get, "fetch a version's weights into a directory, verified")
    get.add_argument("ref")
    get.add_argument("-o", "--output", required=True, help="directory to write into")
    get.add_argument("--dvc-remote")
    json_flag(get)

    verify = add("verify", cmd_verify, "check tags, manifests, dvc.lock and remote objects agree")
    verify.add_argument("refs", nargs="*")
    verify.add_argument("--all", action="store_true")
    json_flag(verify)

    predict = add(
        "predict", cmd_predict, "predict with a version (inputs checked by its signature)"
    )
    predict.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage (production)")
    predict.add_argument("--input", required=True, help=".csv, .parquet or .json (records)")
    predict.add_argument("-o", "--output", help="write predictions to a .csv or .json file")
    formats(predict)

    settings = add("settings", cmd_settings, "print the project's weightline settings")
    settings.add_argument("key", nargs="?", help="one setting, e.g. manifest or release_branch")
    json_flag(settings)
