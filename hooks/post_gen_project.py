"""Make the generated project ready to use, with no network.

Keeps only the chosen framework's files, then `git init -b main` and a first commit. If the Python
running cookiecutter also has DVC and the data libraries, tools/bootstrap.py then sets up DVC (init
with analytics off, the default remote, the raw and hold-out data tracked) and the git hooks, in a
second commit. If not (say `pipx run cookiecutter`), `make setup` in the project does that part.
Commits use the configured git identity; only where none is configured do they use the author's
answers, passed to that one command, so a user's git config is never written.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

# Rendered answers: single-quoted raw strings, because tojson output starts with ".
# fmt: off
FRAMEWORK = json.loads(r'''{{ cookiecutter.framework | tojson }}''')
PACKAGE = json.loads(r'''{{ cookiecutter.package_name | tojson }}''')
AUTHOR_NAME = json.loads(r'''{{ cookiecutter.author_name | one_line | tojson }}''')
AUTHOR_EMAIL = json.loads(r'''{{ cookiecutter.author_email | tojson }}''')
# fmt: on
FRAMEWORK_FILES = {
    "sklearn": {"model": "model_sklearn.py", "conf": "conf/model/logreg.yaml"},
    "pytorch": {"model": "model_pytorch.py", "conf": "conf/model/mlp.yaml"},
}
BOOTSTRAP_NEEDS = ("dvc", "sklearn", "pandas", "hydra", "safetensors")


def keep_chosen_framework() -> None:
    """Rename the chosen model module to model.py and drop the other framework's files."""
    package = Path("src") / PACKAGE
    for framework, files in FRAMEWORK_FILES.items():
        if framework == FRAMEWORK:
            (package / files["model"]).rename(package / "model.py")
        else:
            (package / files["model"]).unlink()
            Path(files["conf"]).unlink()


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"post-gen: `git {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def identity() -> list[str]:
    """`-c user.name=... -c user.email=...` only when git has no identity of its own."""
    configured = [
        subprocess.run(["git", "config", key], capture_output=True, text=True).stdout.strip()
        for key in ("user.name", "user.email")
    ]
    if all(configured):
        return []
    return ["-c", f"user.name={AUTHOR_NAME}", "-c", f"user.email={AUTHOR_EMAIL}"]


def can_bootstrap() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in BOOTSTRAP_NEEDS)


def main() -> None:
    keep_chosen_framework()
    git("init", "--quiet", "-b", "main")
    git("config", "core.hooksPath", ".githooks")
    git("add", "--all")
    git(*identity(), "commit", "--quiet", "-m", "Generate project from the weightline template")
    if can_bootstrap():
        done = subprocess.run([sys.executable, "tools/bootstrap.py"], text=True)
        if done.returncode != 0:
            sys.exit("post-gen: DVC set-up failed (see above); fix it, then run `make setup`")
    else:
        print("DVC is not installed where cookiecutter runs: run `make setup` in the project.")


if __name__ == "__main__":
    main()
