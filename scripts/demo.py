"""`make demo`: bake the default project into build/demo, install it, train, commit, register, push.

Everything runs offline except `pip install` (package registries only). The project installs
weightline from a package index on 127.0.0.1 that serves the wheel built from this checkout
(scripts/package_index.py). build/demo is replaced on each run, with the directory remote next
to it.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from package_index import build_wheel, serving

TEMPLATE = Path(__file__).resolve().parents[1]


def step(title: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run one visible step; stop the demo with the command's output if it fails."""
    print(f"\n==> {title}: {' '.join(args)}", flush=True)
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"demo: `{' '.join(args)}` failed in {cwd}:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=TEMPLATE / "build")
    build = parser.parse_args().build.resolve()
    demo, remote, staging = build / "demo", build / "demo-dvc-storage", build / ".bake"
    for old in (demo, remote, staging):
        shutil.rmtree(old, ignore_errors=True)
    staging.mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    env.pop("PYTHONPATH", None)

    step(
        "bake the default project",
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(staging), str(TEMPLATE),
         f"dvc_remote={remote}"],
        cwd=build,
        env=env,
    )  # fmt: skip
    (baked,) = staging.iterdir()
    baked.rename(demo)
    staging.rmdir()

    wheel = build_wheel(build / "dist")
    print(f"\n==> built {wheel.name}; serving it on a package index on 127.0.0.1")
    with serving(wheel.parent) as index:
        setup = ["make", "setup", f"PIP_INDEX_URL={index}"]
        step("lock the environment (requirements.lock) and install exactly it", setup, demo, env)
    env["PATH"] = f"{demo / '.venv/bin'}{os.pathsep}{env['PATH']}"
    print(step("train", ["dvc", "repro"], cwd=demo, env=env))
    step("stage", ["git", "add", "--all"], cwd=demo, env=env)
    # The post-commit hook registers the commit as model@v1.0.0 (git shows hook output on stderr).
    commit = ["git", "commit", "--quiet", "-m", "Train the first model"]
    print(step("commit (the post-commit hook registers it)", commit, cwd=demo, env=env))
    step("push data and weights", ["dvc", "push"], cwd=demo, env=env)
    print(step("list versions", ["weightline", "ls"], cwd=demo, env=env))

    metrics = json.loads((demo / "reports/metrics.json").read_text())
    print("\nHold-out metrics:")
    for name, value in metrics.items():
        print(f"  {name:<10} {value}")
    print(
        f"""
Next:
  cd {demo}
  source .venv/bin/activate
  dvc exp run -S 'conf/model/logreg.yaml:C=0.1'   # try a parameter
  dvc exp show                                     # compare experiments
  $EDITOR conf/model/logreg.yaml && dvc repro      # change it for good...
  git commit -am "Regularise harder"               # ...and the hook registers v1.1.0
  weightline diff v1.0.0 v1.1.0                    # what changed between versions
  weightline get v1.0.0 -o /tmp/deploy             # verified weights, worktree untouched
  Your own data: README.md, "Bring your own data" (one file, one YAML)"""
    )


if __name__ == "__main__":
    main()
