"""`weightline plots REF [REF]`: evaluation curves of a version, or two overlaid, in HTML."""

from __future__ import annotations

import argparse
from pathlib import Path

from weightline import api
from weightline.cli.main import Adder, json_flag
from weightline.cli.output import print_json


def cmd_plots(args: argparse.Namespace) -> None:
    from weightline.ops.plots import write

    written = write(api.settings(), list(args.refs), Path(args.output))
    if args.json:
        print_json(
            {
                "path": str(written.path),
                "versions": written.versions,
                "plots": written.plots,
                "notes": written.notes,
            }
        )
        return
    for note in written.notes:
        print(f"note: {note}")
    drawn = ", ".join(written.plots) or "nothing (no plot data)"
    print(
        f"wrote {written.path}: {drawn} of {' and '.join(written.versions)}; "
        "open it in a browser, no server or network needed"
    )


def add_commands(add: Adder) -> None:
    plots = add(
        "plots",
        cmd_plots,
        "draw a version's evaluation curves (ROC, confusion, residuals), or overlay two",
    )
    plots.add_argument(
        "refs", nargs="+", metavar="ref", help="one or two of: vX.Y.Z, <artifact>@vX.Y.Z, a stage"
    )
    plots.add_argument("-o", "--output", default="plots.html", help="the HTML file to write")
    json_flag(plots)
