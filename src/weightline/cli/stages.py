"""Commands about stages: promote (gated for production), roll back, archive, list, gate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from weightline import api
from weightline.cli.main import Adder, json_flag
from weightline.cli.output import print_json, table
from weightline.domain.gate import Report
from weightline.errors import Refused

if TYPE_CHECKING:
    from weightline.ops.promote import StageChange

REBASE_HINT = (
    "to promote on the new hold-out set, re-base the gate on its absolute thresholds: "
    "add --rebase-holdout 'why the hold-out set changed'"
)


def gate_table(report: Report) -> str:
    """The gate report as the terminal (and a reviewer) reads it."""
    production = report["production"]
    against = f"{production['version']} (production)" if production else "absolute thresholds"
    if report.get("rebase"):
        against = "absolute thresholds (hold-out re-based: " + report["rebase"]["reason"] + ")"
    lines = [
        f"gate: {report['candidate']['version']} (candidate) against {against}, "
        f"hold-out {report['holdout_md5']}"
    ]
    if report.get("evaluator"):
        evaluator = report["evaluator"]
        lines.append(f"  evaluator and rules of {evaluator['ref']} ({evaluator['commit'][:10]})")
    lines += [f"  refused: {problem}" for problem in report["problems"]]
    if any("hold-out set changed" in problem for problem in report["problems"]):
        lines.append(f"  {REBASE_HINT}")
    if report["checks"]:
        header = {"metric": "metric", "production": "production", "candidate": "candidate",
                  "change": "change", "rule": "rule", "result": "result"}  # fmt: skip
        rows = [
            {
                "metric": c["metric"],
                "production": "-" if c["production"] is None else f"{c['production']:.6g}",
                "candidate": "-" if c["candidate"] is None else f"{c['candidate']:.6g}",
                "change": "-" if c["change"] is None else f"{c['change']:+.6g}",
                "rule": c["rule"],
                "result": "pass" if c["passed"] else "FAIL",
            }
            for c in report["checks"]
        ]
        lines += ["  " + line for line in table(rows, list(header)).splitlines()]
    lines.append(f"verdict: {report['verdict'].upper()}")
    return "\n".join(line.rstrip() for line in lines)


def cmd_promote(args: argparse.Namespace) -> None:
    if args.push:
        change, sent = api.promote_and_push(
            args.ref, args.to, args.reason, args.rebase_holdout, args.git_remote, args.dvc_remote
        )
        pushed = sent.tags
    else:
        change, pushed = api.promote(args.ref, args.to, args.reason, args.rebase_holdout), []
    if args.json:
        print_json({"tags": change.tags, "version": change.version.name, "gate": change.report,
                    "pushed": pushed})  # fmt: skip
    elif change.report is not None:
        print(gate_table(change.report))
    if not change.tags:
        raise Refused(f"not promoted to {args.to}: the gate did not pass (see above)")
    if not args.json:
        print(f"promoted: {change.tags[0]}" + (f"; pushed {', '.join(pushed)}" if pushed else ""))


def cmd_rollback(args: argparse.Namespace) -> None:
    if args.push:
        change, sent = api.rollback_and_push(
            args.stage, args.reason, args.git_remote, args.dvc_remote
        )
        pushed = sent.tags
    else:
        change, pushed = api.rollback(args.stage, args.reason), []
    done(args, change, pushed, f"rolled back {args.stage} to {change.version.name}")


def cmd_archive(args: argparse.Namespace) -> None:
    if args.push:
        change, sent = api.archive_and_push(args.ref, args.reason, args.git_remote, args.dvc_remote)
        pushed = sent.tags
    else:
        change, pushed = api.archive(args.ref, args.reason), []
    done(args, change, pushed, "archived")


def done(args: argparse.Namespace, change: StageChange, pushed: list[str], what: str) -> None:
    """A stage change as JSON, or one line: what was done, its tags, what was pushed."""
    if args.json:
        print_json({"tags": change.tags, "version": change.version.name, "pushed": pushed})
        return
    print(f"{what}: {', '.join(change.tags)}" + (f"; pushed {', '.join(pushed)}" if pushed else ""))


def cmd_stages(args: argparse.Namespace) -> None:
    events = api.stages(history=args.history)
    rows: list[dict[str, Any]] = [
        {
            "stage": e.stage,
            "version": str(e.version.version),
            "event": e.action + ("" if e.assigned else " (unassigned)"),
            "since": e.tag.date[:19].replace("T", " "),
            "by": e.summary.get("by") or e.tag.tagger,
            "from": e.summary.get("from_version") or "",
            "reason": e.summary.get("reason") or "",
            "tag": e.tag.name,
        }
        for e in events
    ]
    if args.json:
        print_json(rows)
    elif rows:
        print(table(rows, ["stage", "version", "event", "since", "by", "from", "reason"]))
    else:
        print("no stage assigned yet: weightline promote vX.Y.Z --to staging")


def cmd_gate(args: argparse.Namespace) -> None:
    report = api.gate(args.ref, args.rebase_holdout)
    print_json(report) if args.json else print(gate_table(report))
    if not report["passed"]:
        raise Refused(f"{report['candidate']['version']} does not pass the production gate")


def stage_change_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--reason", default="", help="recorded in the stage tag")
    command.add_argument(
        "--push",
        action="store_true",
        help="decide on top of the git remote's stage history and push at once (weights first); "
        "if another clone pushed first, decide again",
    )
    command.add_argument("--git-remote")
    command.add_argument("--dvc-remote", help="with --push: where the weights go")
    json_flag(command)


def add_commands(add: Adder) -> None:
    promote = add("promote", cmd_promote, "assign a stage to a version (production: gated)")
    promote.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z or a stage (staging)")
    promote.add_argument("--to", required=True, help="the stage, as listed in .gto")
    promote.add_argument(
        "--rebase-holdout",
        metavar="REASON",
        help="the hold-out set changed since production was gated: judge on absolute "
        "thresholds, and record why in the stage tag",
    )
    stage_change_options(promote)

    rollback = add("rollback", cmd_rollback, "give a stage back to the version it held before")
    rollback.add_argument("stage")
    stage_change_options(rollback)

    archive = add("archive", cmd_archive, "move a version to the archived stage")
    archive.add_argument("ref")
    stage_change_options(archive)

    stages = add("stages", cmd_stages, "which version holds each stage (or --history)")
    stages.add_argument("--history", action="store_true", help="every stage event, in order")
    json_flag(stages)

    gate = add("gate", cmd_gate, "run the production gate for a version (or HEAD), writing nothing")
    gate.add_argument("ref", help="vX.Y.Z, <artifact>@vX.Y.Z, or HEAD (a pull request)")
    gate.add_argument("--rebase-holdout", metavar="REASON", help="see promote --rebase-holdout")
    json_flag(gate)
