"""`weightline report`, rendered by a real browser (Debian's headless chromium), with no network.

The page is checked twice: as the DOM chromium builds from it (`--dump-dom`: what a reader's
browser makes of the file, escaping included) and as the pixels it paints (`--screenshot`: the
inline SVG chart and timeline are really drawn).
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .project import Project, weightline
from .registry_helpers import BOB, add_version, build_history, count_color, headless, stage_tag

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report")]
SVG_NAMESPACE = 'xmlns="http://www.w3.org/2000/svg"'  # a name, never fetched
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
HOSTILE = '<script>alert("x")</script></table><img src=x onerror=alert(1)>'


class Dom(HTMLParser):
    """Elements (tag, attributes) and the text under chosen ids, from chromium's DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag not in VOID:
            self.stack.append(attributes.get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for ident in filter(None, self.stack):
            self.text.setdefault(ident, []).append(data)

    def all(self, tag: str, **attrs: str) -> list[dict]:
        return [
            a
            for t, a in self.elements
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def text_of(self, ident: str) -> str:
        return " ".join(" ".join(self.text.get(ident, [])).split())


@pytest.fixture(scope="session")
def page(trained_session: Project, tmp_path_factory) -> tuple[Project, Path]:
    """Session-scoped: xdist may run this module's tests apart, which would rebuild it."""
    root = tmp_path_factory.mktemp("report")
    project = build_history(trained_session.copy(root / "project"))

    def hostile(m: dict) -> None:
        m["config"]["model"]["name"] = HOSTILE
        m["metrics"].update(accuracy=0.93, f1=0.92)

    add_version(project, "v2.1.0", hostile, BOB, "2024-05-01T12:00:00+00:00", bump="minor")
    stage_tag(project, "production", 5, "v2.1.0", reason=HOSTILE)
    output = root / "registry.html"
    said = weightline(project, "report", "-o", str(output)).stdout
    assert f"wrote {output}" in said
    return project, output


def test_the_page_needs_nothing_but_itself(page):
    _, output = page
    html = output.read_text()
    assert "default-src 'none'" in html  # the browser may fetch nothing at all
    dom = Dom()
    dom.feed(html)
    fetching = [(t, a) for t, a in dom.elements if {"src", "href", "srcset", "data"} & set(a)]
    assert fetching == []
    assert {t for t, _ in dom.elements}.isdisjoint({"script", "link", "iframe", "img", "object"})
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert "url(" not in style and "@import" not in style
    assert "https://" not in html and html.count("http://") == html.count(SVG_NAMESPACE)


def test_chromium_builds_the_expected_page(page):
    _, output = page
    dump = headless(output, "--dump-dom")
    dom = Dom()
    dom.feed(dump)

    # The versions table, newest first, with stages and key metrics.
    rows = dom.text_of("versions-table")
    assert rows.startswith("version created author commit bump stages accuracy f1 roc_auc reason")
    order = re.findall(r"<tr><td><b>(v[\d.]+)</b></td>", dump)
    assert order == ["v2.1.0", "v2.0.0", "v1.3.0", "v1.2.0", "v1.1.0", "v1.0.0"]
    assert "Alice Martin" in rows and "Bob Chen" in rows

    # The timeline: production went v1.1.0, v1.3.0, back to v1.1.0, then v2.1.0.
    spans = [(g["data-stage"], g["data-version"]) for g in dom.all("g", **{"class": "span"})]
    assert [v for s, v in spans if s == "production"] == ["v1.1.0", "v1.3.0", "v1.1.0", "v2.1.0"]
    assert [v for s, v in spans if s == "staging"] == ["v1.2.0"]
    history = dom.text_of("stage-table")
    assert "production v2.1.0" in history and "now" in history
    assert "accuracy dropped" in history and "first production model" in history

    # The chart: one line per key metric, a point per version.
    lines = {p["data-metric"]: p["points"].split() for p in dom.all("polyline")}
    assert set(lines) == {"accuracy", "f1", "roc_auc"}
    assert len(lines["accuracy"]) == 6
    assert len(dom.all("circle")) == 18

    # The latest diff, with its drift and environment.
    headings = [" ".join(dom.text.get(h["id"], [""])) for h in dom.all("h2") if h.get("id")]
    assert any("Latest diff: v2.0.0 → v2.1.0" in h for h in headings), headings
    latest = " ".join(dom.text.get("latest-diff", []))
    assert "v2.0.0" in latest

    # What came from git is text, never markup: no script ran, no image was asked for.
    assert dom.all("script") == [] and dom.all("img") == []
    assert HOSTILE in dom.text_of("stage-table")


def test_chromium_paints_the_chart_and_the_timeline(page, tmp_path: Path):
    _, output = page
    shot = tmp_path / "page.png"
    headless(output, f"--screenshot={shot}", "--window-size=1200,1400", "--hide-scrollbars")
    assert count_color(shot, (0x1F, 0x77, 0xB4)) > 200  # the accuracy line
    assert count_color(shot, (0xD6, 0x27, 0x28)) > 200  # the f1 line
    assert count_color(shot, (0xB0, 0x00, 0x20), tolerance=20) > 20  # production marker


def test_report_of_a_registry_without_versions(baked: Project, tmp_path: Path):
    output = tmp_path / "empty.html"
    weightline(baked, "report", "-o", str(output))
    dump = headless(output, "--dump-dom")
    assert "0 versions, 0 stage events" in dump
    text = output.read_text()
    assert "No metrics to chart yet" in text and "No stage was ever assigned" in text
