"""Scoring weights with a project's own evaluate function, run inside a commit's worktree.

The gate runs this as `python -m weightline.ops.evaluation WEIGHTS...` in a temporary worktree
of the commit whose evaluator and rules it trusts, with that commit's `src/` first on the path:
the user's uncommitted edits to the evaluator can never decide a promotion. It prints one JSON
object: weights path -> {metric: value}.
"""

import json
import sys
from pathlib import Path

from weightline.settings import entry_point, load


def main(argv: list[str]) -> None:
    evaluate = entry_point(load(Path.cwd()), "evaluate")
    scores = {}
    for weights in argv:
        metrics = evaluate(Path(weights))
        scores[weights] = {str(name): float(value) for name, value in metrics.items()}
    print(json.dumps(scores))


if __name__ == "__main__":
    main(sys.argv[1:])
