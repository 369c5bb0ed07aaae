"""Stages, the production gate, rollback and signature contracts, on a baked project."""

import json
import time

import pandas as pd
import pytest

from .project import EXIT, Project, sha256, tags, weightline
from .story import retrain, set_in_yaml, train_and_commit, version_summary

pytestmark = pytest.mark.slow


def gto_holder(project: Project, stage: str) -> str | None:
    out = project.run("gto", "show", f"{project.artifact}#{stage}", "--json").stdout
    found = json.loads(out)
    return found[0]["version"] if found else None


def our_holders(project: Project) -> dict[str, str]:
    rows = json.loads(weightline(project, "stages", "--json").stdout)
    return {row["stage"]: row["version"] for row in rows}


def assert_agree(project: Project) -> dict[str, str]:
    """`gto show model#<stage>`, `weightline stages` and `weightline ls` agree on each stage."""
    ours = our_holders(project)
    for stage in ("staging", "production", "archived"):
        assert gto_holder(project, stage) == ours.get(stage), (stage, ours)
    listed = json.loads(weightline(project, "ls", "--json").stdout)
    for row in listed:
        held = sorted(stage for stage, version in ours.items() if version == row["version"])
        assert row["stages"] == held, (row, ours)
    return ours


def stage_tag_summary(project: Project, name: str) -> dict:
    message = project.git("tag", "-l", "--format=%(contents)", name)
    return json.loads(message.partition("\n\n")[2])


def promote_to_production(project: Project, ref: str, *args: str) -> str:
    weightline(project, "promote", ref, "--to", "staging")
    return weightline(project, "promote", ref, "--to", "production", *args).stdout


def test_promotion_passes_the_gate_and_follows_the_stage_order(released: Project):
    project = released
    before = tags(project)
    skipped = weightline(project, "promote", "v1.0.0", "--to", "production", check=False)
    assert skipped.returncode == EXIT["Refused"] and "never been in staging" in skipped.stderr
    assert tags(project) == before

    weightline(project, "promote", "v1.0.0", "--to", "staging", "--reason", "first candidate")
    assert assert_agree(project) == {"staging": "v1.0.0"}
    out = weightline(project, "promote", "v1.0.0", "--to", "production", "--reason", "go").stdout
    assert "against absolute thresholds" in out and "verdict: PASS" in out
    assert assert_agree(project) == {"staging": "v1.0.0", "production": "v1.0.0"}
    first = stage_tag_summary(project, "model#production#2")
    assert first["gate"]["verdict"] == "pass" and first["reason"] == "go"
    assert first["by"].startswith("Test Runner") and first["from_version"] is None
    assert first["gate"]["evaluator"]["commit"] == project.git("rev-parse", "main")

    # A better model (same accuracy, higher ROC AUC) passes against production.
    retrain(project, 0.5, "C=0.5")
    weightline(project, "promote", "v1.1.0", "--to", "staging")
    out = weightline(project, "promote", "staging", "--to", "production", "--json").stdout
    report = json.loads(out)["gate"]
    assert report["production"]["version"] == "v1.0.0" and report["verdict"] == "pass"
    assert report == stage_tag_summary(project, "model#production#4")["gate"]
    assert report["production"]["metrics"]["accuracy"] == report["candidate"]["metrics"]["accuracy"]
    assert report["candidate"]["metrics"]["roc_auc"] > report["production"]["metrics"]["roc_auc"]
    assert {c["metric"] for c in report["checks"]} == {"accuracy", "f1", "roc_auc", "log_loss"}
    assert (
        report["candidate"]["sha256"] == version_summary(project, "model@v1.1.0")["weights_sha256"]
    )
    assert assert_agree(project)["production"] == "v1.1.0"

    # Unassigned by another tool: production falls back to the version that held it before.
    time.sleep(1.1)  # GTO orders tags by their time, to the second
    project.run("gto", "deprecate", "model", "v1.1.0", "production", "--simple", "false")
    assert assert_agree(project)["production"] == "v1.0.0"
    assert weightline(project, "resolve", "production").stdout.strip() == "model@v1.0.0"
    weightline(project, "promote", "v1.1.0", "--to", "production", "--reason", "again")
    assert assert_agree(project)["production"] == "v1.1.0"


def test_a_worse_model_is_refused_then_rollback_and_archive(released: Project):
    project = released
    promote_to_production(project, "v1.0.0")
    retrain(project, 0.5, "C=0.5")
    promote_to_production(project, "v1.1.0")

    # A worse model is refused: table printed, non-zero exit, no production tag.
    retrain(project, 0.001, "C=0.001, far too much regularisation")
    weightline(project, "promote", "v1.2.0", "--to", "staging")
    before = tags(project)
    refused = weightline(project, "promote", "v1.2.0", "--to", "production", check=False)
    assert refused.returncode == EXIT["Refused"]
    assert "verdict: FAIL" in refused.stdout and "FAIL" in refused.stdout.split("verdict")[0]
    assert tags(project) == before
    gate = weightline(project, "gate", "v1.2.0", check=False)
    assert gate.returncode == EXIT["Refused"] and "verdict: FAIL" in gate.stdout
    assert assert_agree(project)["production"] == "v1.1.0"

    # Roll back: the previous production version again, as new tags; nothing deleted.
    tags_before = set(tags(project).splitlines())
    weightline(project, "rollback", "production", "--reason", "conversion dropped")
    assert tags_before <= set(tags(project).splitlines())
    assert assert_agree(project)["production"] == "v1.0.0"
    fetched = project.path.parent / "deploy"
    weightline(project, "get", "production", "-o", str(fetched))
    v1 = version_summary(project, "model@v1.0.0")["weights_sha256"]
    assert sha256(fetched / "model.safetensors") == v1
    history = json.loads(weightline(project, "stages", "--history", "--json").stdout)
    assert [h["event"] for h in history[-2:]] == ["rollback (unassigned)", "rollback"]
    assert history[-1]["reason"] == "conversion dropped" and history[-1]["from"] == "v1.1.0"

    weightline(project, "archive", "v1.2.0", "--reason", "never good enough")
    # Archiving unassigns v1.2.0 from staging, which falls back to v1.1.0.
    assert assert_agree(project) == {
        "staging": "v1.1.0",
        "production": "v1.0.0",
        "archived": "v1.2.0",
    }
    refused = weightline(project, "archive", "v1.0.0", check=False)
    assert refused.returncode == EXIT["Refused"] and "is in production" in refused.stderr


def test_gate_refuses_when_the_holdout_changed(released: Project):
    project = released
    weightline(project, "promote", "v1.0.0", "--to", "staging")
    weightline(project, "promote", "v1.0.0", "--to", "production")
    holdout = project.path / "data/holdout/holdout.csv"
    rows = holdout.read_text().splitlines(keepends=True)
    holdout.unlink()
    holdout.write_text("".join(rows[:-5]))
    project.dvc("add", "data/holdout")
    set_in_yaml(project.path / "conf/model/logreg.yaml", "C", 0.5)
    assert "registered model@v1.1.0" in train_and_commit(project, "Another hold-out set and C")
    weightline(project, "push")
    weightline(project, "promote", "v1.1.0", "--to", "staging")
    refused = weightline(project, "promote", "v1.1.0", "--to", "production", check=False)
    assert refused.returncode == EXIT["Refused"]
    assert "hold-out set changed since model@v1.0.0 was gated" in refused.stdout
    assert "--rebase-holdout" in refused.stdout  # the way forward is named

    # The explicit re-base: absolute thresholds, recorded in the stage tag; rollback still works.
    out = weightline(
        project, "promote", "v1.1.0", "--to", "production", "--rebase-holdout", "5 rows relabelled"
    ).stdout
    assert "hold-out re-based: 5 rows relabelled" in out and "verdict: PASS" in out
    rebase = stage_tag_summary(project, "model#production#4")["gate"]["rebase"]
    assert (
        rebase["reason"] == "5 rows relabelled" and rebase["from_holdout"] != rebase["to_holdout"]
    )
    assert assert_agree(project)["production"] == "v1.1.0"
    weightline(project, "rollback", "production", "--reason", "back to the old hold-out")
    assert assert_agree(project)["production"] == "v1.0.0"


def features(project: Project) -> tuple[pd.DataFrame, pd.Series]:
    holdout = pd.read_csv(project.path / "data/holdout/holdout.csv")
    return holdout.drop(columns=["target"]), holdout["target"]


def predict(project: Project, frame: pd.DataFrame | list, suffix: str = ".csv"):
    path = project.path.parent / f"input{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        path.write_text(json.dumps(frame))
    return weightline(project, "predict", "v1.0.0", "--input", str(path), "--csv", check=False)


def test_signature_contract(released: Project):
    project = released
    frame, labels = features(project)
    manifest = json.loads(weightline(project, "show", "v1.0.0", "--json").stdout)

    done = predict(project, frame)
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert list(answers.columns) == ["label", "probability_0", "probability_1"]
    probabilities = answers["probability_1"]
    from sklearn.metrics import accuracy_score, roc_auc_score

    assert round(accuracy_score(labels, answers["label"]), 6) == manifest["metrics"]["accuracy"]
    assert round(roc_auc_score(labels, probabilities), 6) == manifest["metrics"]["roc_auc"]
    parquet = predict(project, frame.astype({"mean_area": "float32"}), ".parquet")
    assert parquet.returncode == 0, parquet.stderr  # float32 -> float64 is a safe upcast

    cases = {
        "missing columns: mean_radius": frame.drop(columns=["mean_radius"]),
        "extra columns: target": frame.assign(target=labels),
        "wrong dtypes: mean_texture is ": frame.assign(mean_texture="rough"),
        "worst_area is bool": frame.assign(worst_area=True),
        "missing values where none are allowed: mean_smoothness (1 rows)": frame.assign(
            mean_smoothness=[None, *frame["mean_smoothness"][1:]]
        ),
    }
    for expected, bad in cases.items():
        refused = predict(project, bad)
        assert refused.returncode == EXIT["SignatureError"], (expected, refused.stderr)
        assert expected in refused.stderr, (expected, refused.stderr)
    records = frame.head(2).to_dict(orient="records")
    records[0]["mean_radius"] = [1.0, 2.0]
    refused = predict(project, records, ".json")
    assert "wrong shape (one value per row expected): mean_radius" in refused.stderr

    script = (
        "import sys, pandas as pd\n"
        "from weightline import load_model\n"
        "model = load_model('v1.0.0')\n"
        "frame = pd.read_csv('data/holdout/holdout.csv').drop(columns=['target'])\n"
        "print(model.version.name, float(model.predict(frame)['probability_1'].sum()))\n"
    )
    out = project.run("python", "-c", script).stdout.split()
    assert out[0] == "model@v1.0.0" and abs(float(out[1]) - probabilities.sum()) < 1e-9


def test_deploy_workflow_steps_resolve_exactly_the_assigned_version(released: Project, tmp_path):
    """What deploy.yml runs for a pushed model#production#N tag, step by step, for real."""
    project = released
    weightline(project, "promote", "v1.0.0", "--to", "staging")
    weightline(project, "promote", "v1.0.0", "--to", "production")
    retrain(project, 0.5, "C=0.5")
    weightline(project, "promote", "v1.1.0", "--to", "staging")
    weightline(project, "promote", "v1.1.0", "--to", "production")
    # The first production tag still names v1.0.0, whatever holds production now.
    assert weightline(project, "resolve", "model#production#2").stdout.strip() == "model@v1.0.0"
    assert weightline(project, "resolve", "model#production#4").stdout.strip() == "model@v1.1.0"
    workflow = (project.path / ".github/workflows/deploy.yml").read_text()
    assert '"model#production#*"' in workflow and "weightline resolve" in workflow
    env = project.env(STAGE_TAG="model#production#4")
    version = project.run(
        "sh", "-c", 'python -m weightline resolve "$STAGE_TAG"', env=env
    ).stdout.strip()
    deploy = tmp_path / "deploy"
    weightline(project, "get", version, "-o", str(deploy))
    assert "ok" in weightline(project, "verify", version).stdout
    assert (
        sha256(deploy / "model.safetensors") == version_summary(project, version)["weights_sha256"]
    )


def test_breaking_signature_is_a_major_bump(released: Project):
    project = released
    raw = project.path / "data/raw/breast_cancer.csv"
    frame = pd.read_csv(raw).drop(columns=["mean_radius"])
    raw.unlink()
    frame.to_csv(raw, index=False)
    project.dvc("add", "data/raw")
    holdout = project.path / "data/holdout/holdout.csv"
    kept = pd.read_csv(holdout).drop(columns=["mean_radius"])
    holdout.unlink()
    kept.to_csv(holdout, index=False)
    project.dvc("add", "data/holdout")
    out = train_and_commit(project, "Drop mean_radius")
    assert "registered model@v2.0.0 (major: signature changed incompatibly: inputs removed: " in out
