"""`weightline plots` on a baked project: two trained versions' ROC curves overlaid, painted by
headless Chromium with no network, and the same plots in `weightline report`."""

import json
from pathlib import Path

import numpy as np
import pytest

from .project import Project, weightline
from .registry_helpers import headless, png_pixels
from .story import retrain

BLUE, RED = (0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)  # the first version, the second
pytestmark = pytest.mark.slow  # trains two versions


@pytest.fixture(scope="module")
def two_versions(released_once: Project) -> Project:
    """v1.0.0 (C=1) and v1.1.0 (C=0.0005: other probabilities, another ROC curve)."""
    retrain(released_once, 0.0005, "Regularise far more strongly")
    return released_once


def near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    return (np.abs(pixels - np.array(rgb)) <= tolerance).all(axis=2)


def test_plots_command_draws_both_versions_from_their_commits(two_versions: Project, tmp_path):
    output = tmp_path / "plots.html"
    written = json.loads(
        weightline(two_versions, "plots", "v1.0.0", "v1.1.0", "-o", str(output), "--json").stdout
    )
    assert written["versions"] == ["model@v1.0.0", "model@v1.1.0"]
    assert written["plots"] == ["roc", "confusion"] and written["notes"] == []
    page = output.read_text()
    assert page.count('<path class="series"') == 2 and page.count('id="confusion-') == 2
    assert "<script" not in page and "default-src 'none'" in page


def test_chromium_paints_two_versions_curves_overlaid(two_versions: Project, tmp_path: Path):
    output = tmp_path / "plots.html"
    weightline(two_versions, "plots", "v1.0.0", "v1.1.0", "-o", str(output))
    dom = headless(output, "--dump-dom")
    assert dom.count('class="series"') == 2  # the browser parsed both curves as SVG
    shot = tmp_path / "plots.png"
    headless(output, f"--screenshot={shot}", "--window-size=1000,700", "--hide-scrollbars")
    pixels = png_pixels(shot)
    blue, red = near(pixels, BLUE), near(pixels, RED)
    # Lines, not just the legend's 10x10 swatches: both colours are painted at length.
    assert blue.sum() > 600, blue.sum()
    assert red.sum() > 300, red.sum()
    # On one chart: many pixel rows and many pixel columns hold both colours. Charts side by
    # side would share no column; charts one above the other would share no row.
    rows = (blue.any(axis=1) & red.any(axis=1)).sum()
    columns = (blue.any(axis=0) & red.any(axis=0)).sum()
    assert rows > 100 and columns > 100, (rows, columns)


def test_the_report_has_the_newest_versions_plots(two_versions: Project, tmp_path: Path):
    output = tmp_path / "registry.html"
    weightline(two_versions, "report", "-o", str(output))
    page = output.read_text()
    assert 'id="plots">Evaluation plots: v1.0.0 and v1.1.0</h2>' in page
    assert 'data-version="v1.0.0"' in page and 'data-version="v1.1.0"' in page
