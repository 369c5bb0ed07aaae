"""Make the generated project ready to use, with no network.

Keeps only the files of the chosen framework and task, records the template and the answers in
.cruft.json (so `cruft update` can bring later template changes in), then `git init -b main` and
a first commit. If the Python running cookiecutter also has DVC and the data libraries,
tools/bootstrap.py then sets up DVC (init with analytics off, the default remote, the example data
and its hold-out set tracked) and the git hooks, in a second commit. If not (say `pipx run
cookiecutter`), `make setup` in the project does that part.

Under cruft (`cruft create`, and the renderings `cruft update` and `cruft diff` compare), only the
files are made: cruft writes .cruft.json itself, its renderings must not contain a repository, and
`make setup` creates the repository of a `cruft create`d project.

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
TASK = json.loads(r'''{{ cookiecutter.task | tojson }}''')
PACKAGE = json.loads(r'''{{ cookiecutter.package_name | tojson }}''')
AUTHOR_NAME = json.loads(r'''{{ cookiecutter.author_name | one_line | tojson }}''')
AUTHOR_EMAIL = json.loads(r'''{{ cookiecutter.author_email | tojson }}''')
CONTEXT = json.loads(r'''{{ cookiecutter | tojson }}''')
TEMPLATE = json.loads(r'''{{ cookiecutter._template | template_source | tojson }}''')
COMMIT = json.loads(r'''{{ cookiecutter._template | template_commit | tojson }}''')
# fmt: on
UNDER_CRUFT = "_commit" in CONTEXT  # cruft adds it to the context; cookiecutter does not
MODEL_CONF = {
    "sklearn": "conf/model/ridge.yaml" if TASK == "regression" else "conf/model/logreg.yaml",
    "pytorch": "conf/model/mlp.yaml",
}
MODEL_CODE = {"sklearn": "model_sklearn.py", "pytorch": "model_pytorch.py"}
MACHINE_PATHS = ("_output_dir", "_repo_dir")  # where this bake happened: not the project's business
BOOTSTRAP_NEEDS = ("tomllib", "dvc", "sklearn", "pandas", "hydra", "weightline")


def keep_chosen_files() -> None:
    """Rename the chosen model module to model.py; drop the other model modules and confs."""
    package = Path("src") / PACKAGE
    for framework, module in MODEL_CODE.items():
        if framework == FRAMEWORK:
            (package / module).rename(package / "model.py")
        else:
            (package / module).unlink()
    for conf in Path("conf/model").glob("*.yaml"):
        if str(conf) != MODEL_CONF[FRAMEWORK]:
            conf.unlink()


def write_cruft_state() -> None:
    """.cruft.json as `cruft create` writes it, with the skip list of files the user owns."""
    context = {k: v for k, v in CONTEXT.items() if k not in MACHINE_PATHS}
    context |= {"_template": TEMPLATE, "_commit": COMMIT}
    state = {
        "template": TEMPLATE,
        "commit": COMMIT,
        "checkout": CONTEXT.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
        "skip": user_owned(),
    }
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    Path(".cruft.json").write_text(text + "\n")


def user_owned() -> list[str]:
    """[tool.cruft] skip in the generated pyproject.toml: the one list of user-owned paths
    (cruft reads it there too, so an older Python without tomllib can leave it out here)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        return []
    pyproject = tomllib.loads(Path("pyproject.toml").read_text())
    return list(pyproject["tool"]["cruft"]["skip"])


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
    keep_chosen_files()
    if UNDER_CRUFT:
        print("cruft: files rendered; in a new project, `make setup` creates git and DVC")
        return
    write_cruft_state()
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
