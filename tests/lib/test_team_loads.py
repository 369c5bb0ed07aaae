"""Six processes load one version at once (`predict`, `get -o` into one directory, and
`load_model` as a serving pool would), three rounds: every one succeeds, with the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .microproject import Micro

LOAD = (
    "from weightline import api; "
    "loaded = api.load_model('v1.0.0'); "
    "print(loaded.weights, len(loaded.predict(api.read_frame(__import__('pathlib').Path("
    "'rows.csv')))))"
)


def test_six_processes_load_one_version_at_once_three_rounds(released: Micro, tmp_path: Path):
    rows = released.path / "rows.csv"
    holdout = (released.path / "data/holdout/holdout.csv").read_text().splitlines()
    rows.write_text("\n".join(",".join(line.split(",")[:-1]) for line in holdout) + "\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(released.path / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    shared = tmp_path / "deploy"
    commands = [
        [sys.executable, "-m", "weightline", "predict", "v1.0.0", "--input", "rows.csv", "--csv"],
        [sys.executable, "-m", "weightline", "predict", "v1.0.0", "--input", "rows.csv", "--csv"],
        [sys.executable, "-m", "weightline", "get", "v1.0.0", "-o", str(shared)],
        [sys.executable, "-m", "weightline", "get", "v1.0.0", "-o", str(shared)],
        [sys.executable, "-c", LOAD],
        [sys.executable, "-c", LOAD],
    ]
    for _ in range(3):
        shutil.rmtree(released.path / ".weightline" / "versions", ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
        running = [
            subprocess.Popen(
                command,
                cwd=released.path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        results = [(p.wait(timeout=600), *p.communicate()) for p in running]
        failed = [
            (c, code, err) for c, (code, _, err) in zip(commands, results, strict=True) if code
        ]
        assert not failed, failed
        predictions = [out for _, out, _ in results[:2]]
        assert predictions[0] == predictions[1] and len(predictions[0].splitlines()) == 41
        fetched = released.path / ".weightline" / "versions" / "model@v1.0.0"
        assert (shared / "model.safetensors").read_bytes() == (
            fetched / "model.safetensors"
        ).read_bytes()
        leftovers = [p.name for p in [*shared.iterdir(), *fetched.iterdir()] if p.name[0] == "."]
        assert not leftovers  # no temporary file of any writer is left behind
