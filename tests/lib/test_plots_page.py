"""The plots page without a bake: plot data read from git at a commit, drawn as escaped inline
SVG, missing or malformed files said, hostile text kept as text."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from weightline.ops import plots
from weightline.settings import Settings

HOSTILE = '<script>alert("x")</script>&"'


def roc(shift: float, label: str | None = None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"fpr": f, "tpr": min(1.0, f ** (0.3 + shift)), "threshold": 1 - f}
        for f in (0.0, 0.1, 0.2, 0.4, 0.7, 1.0)
    ]
    return [{"class": label, **r} if label else r for r in rows]


def curves(label: str, **data: list[dict[str, object]]) -> plots.Curves:
    return plots.Curves(label, "0" * 40, dict(data))


def test_two_versions_roc_curves_share_one_chart():
    html, drawn = plots.page(
        [curves("v1.0.0", roc=roc(0.0)), curves("v1.1.0", roc=roc(0.5))], "model"
    )
    assert drawn == ["roc"]
    chart = re.search(r'<svg id="roc".*?</svg>', html, re.S)
    assert chart is not None
    series = re.findall(r'<path class="series" data-version="([^"]+)" d="M[^"]+" fill="none" '
                        r'stroke="(#[0-9a-f]{6})"', chart.group(0))  # fmt: skip
    assert series == [("v1.0.0", "#1f77b4"), ("v1.1.0", "#d62728")]
    assert "v1.0.0 (AUC " in html and "v1.1.0 (AUC " in html
    assert "<script" not in html and "http://" not in html.replace(plots_namespace(), "")
    assert "default-src 'none'" in html  # nothing may be fetched, whatever the page holds


def plots_namespace() -> str:
    return "http://www.w3.org/2000/svg"


def test_classes_regression_and_confusion_each_get_their_charts():
    multi = [*roc(0.0, "setosa"), *roc(0.2, "virginica")]
    confusion = [{"actual": a, "predicted": p} for a, p in ("aa", "ab", "bb", "bb", "ba")]
    html, drawn = plots.page(
        [curves("v1.0.0", roc=multi, confusion=confusion), curves("v1.1.0", roc=multi)], "m"
    )
    assert drawn == ["roc", "confusion"]
    assert 'id="roc-1"' in html and 'id="roc-2"' in html and "setosa against the rest" in html
    assert 'id="confusion-1"' in html and 'id="confusion-2"' not in html  # v1.1.0 had none
    cells = re.findall(r"<text [^>]*>(\d+)</text>", html.split('id="confusion-1"')[1])
    assert cells == ["1", "1", "1", "2"]  # a->a, a->b, b->a, b->b
    regression = [{"actual": float(i), "predicted": i + 0.5} for i in range(10)]
    residuals = [{"predicted": i + 0.5, "residual": -0.5} for i in range(10)]
    html, drawn = plots.page(
        [curves("v2.0.0", predictions=regression, residuals=residuals)], "price"
    )
    assert drawn == ["predictions", "residuals"]
    assert html.count("<circle") == 20


def test_hostile_text_stays_text_and_bad_numbers_are_skipped():
    rows = [*roc(0.0, HOSTILE), {"class": HOSTILE, "fpr": "nan", "tpr": 1}, {"fpr": None}]
    confusion = [{"actual": HOSTILE, "predicted": "b"}]
    html, _ = plots.page([curves(HOSTILE, roc=rows, confusion=confusion)], HOSTILE)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "nan" not in html.lower()  # the row with fpr "nan" was left out


def test_many_points_are_thinned():
    long = [{"fpr": i / 10_000, "tpr": (i / 10_000) ** 0.5} for i in range(10_001)]
    html, _ = plots.page([curves("v1.0.0", roc=long)], "m")
    assert len(re.search(r' d="M([^"]+)"', html).group(1).split("L")) <= plots.MAX_POINTS + 1


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Settings, str]:
    """A git repository whose one commit holds good, broken and missing plot files."""
    root = tmp_path / "repo"
    (root / "reports/plots").mkdir(parents=True)
    (root / "reports/plots/roc.json").write_text(json.dumps(roc(0.1)))
    (root / "reports/plots/confusion.json").write_text("{not json")
    (root / "reports/plots/residuals.json").write_text(json.dumps({"a": 1}))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "plots"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    return Settings(root=root, artifact="model", weights="models/model.safetensors"), commit


def test_plot_files_are_read_at_the_commit_and_problems_noted(repository):
    settings, commit = repository
    (settings.root / "reports/plots/roc.json").write_text("[]")  # the work tree does not count
    found = plots.read(settings, "v1.0.0", commit)
    assert list(found.data) == ["roc"] and len(found.data["roc"]) == 6
    assert found.notes == [
        "v1.0.0: reports/plots/confusion.json is not JSON; left out",
        "v1.0.0: reports/plots/residuals.json is not a list of rows",
    ]
    empty = plots.read(settings, "v0.9.0", "4b825dc642cb6eb9a060e54bf8d69288fbee4904")  # no tree
    assert empty.data == {} and empty.notes == [
        "v0.9.0: no plot data in reports/plots/ at its commit"
    ]
    html, drawn = plots.page([empty], "model")
    assert drawn == [] and "No plot data to draw." in html
