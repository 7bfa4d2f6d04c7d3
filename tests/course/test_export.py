"""Exported HTML (nbconvert, JupyterLab's export, nbgrader feedback) shows the course's
mermaid diagrams with no network access: mermaid is inlined, never imported from a URL."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import export

ROOT = Path(__file__).resolve().parents[2]
CDN_MERMAID = "cdnjs.cloudflare.com/ajax/libs/mermaid"
NEEDS_MERMAID = pytest.mark.skipif(
    not export.MERMAID_JS.is_file(),
    reason="mermaid is not vendored: run `make mermaid` (needs npm); make test does it when npm exists")


def _notebooks_with_diagrams() -> list[Path]:
    out = []
    for path in sorted((ROOT / "course").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        if any("```mermaid" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"):
            out.append(path)
    return out


def _assert_offline_mermaid(html: str) -> None:
    assert 'class="jp-Mermaid"><pre class="mermaid">' in html, "the diagram source is not in the page"
    assert CDN_MERMAID not in html
    imports = re.findall(r'import\("([^"]*)"\)', html)
    assert imports, "mermaid is never loaded"
    assert all(url.startswith("data:") for url in imports), f"imports from the network: {imports}"
    bundle_head = export.MERMAID_JS.read_text(encoding="utf-8")[:200]
    assert bundle_head in html, "the vendored mermaid bundle is not inlined"


def test_the_course_has_diagrams_to_export() -> None:
    assert _notebooks_with_diagrams(), "every notebook has a ```mermaid Concept diagram"


@NEEDS_MERMAID
@pytest.mark.parametrize("notebook", _notebooks_with_diagrams()[:2], ids=lambda p: p.name)
def test_exported_notebook_inlines_mermaid_and_imports_nothing_from_the_network(notebook: Path) -> None:
    _assert_offline_mermaid(export.export_html(notebook))


@NEEDS_MERMAID
def test_jupyter_nbconvert_in_this_environment_uses_the_course_template(tmp_path: Path) -> None:
    """What a learner gets from `jupyter nbconvert --to html` (and JupyterLab's export,
    which reads the same settings through the server config that make setup writes)."""
    notebook = _notebooks_with_diagrams()[0]
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                    "--output-dir", str(tmp_path), str(notebook)],
                   check=True, capture_output=True, text=True, timeout=120)
    _assert_offline_mermaid((tmp_path / (notebook.stem + ".html")).read_text(encoding="utf-8"))
    server = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "svclab-export.json"
    assert json.loads(server.read_text())["HTMLExporter"]["template_name"] == "svclab"


@NEEDS_MERMAID
def test_nbgrader_feedback_pages_render_mermaid_offline() -> None:
    """nbgrader's own feedback template never loaded mermaid at all; the course's
    nbgrader_config.py (read by `nbgrader generate_feedback`) switches to ours."""
    from nbconvert import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.HTMLExporter.template_file == export.FEEDBACK_FILE
    config.HTMLExporter.template_name = "feedback"      # what NbGraderAPI.generate_feedback forces
    feedback = GenerateFeedback(config=config)         # adds nbgrader's own paths, as in a real run
    exporter = HTMLExporter(config=feedback.config)
    resources = {"nbgrader": {"notebook": "lab1", "score": 3, "max_score": 4, "late_penalty": 0}}
    html, _ = exporter.from_filename(str(_notebooks_with_diagrams()[0]), resources=resources)
    assert "lab1 (Score: 3.0 / 4.0)" in html, "not nbgrader's feedback page"
    _assert_offline_mermaid(html)


def test_without_a_vendored_copy_exports_still_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(export, "MERMAID_JS", tmp_path / "absent.js")
    html = export.export_html(_notebooks_with_diagrams()[0])
    assert 'class="jp-Mermaid"' in html and CDN_MERMAID in html  # nbconvert's own behaviour


def test_bundle_cannot_close_its_inline_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "mermaid.min.js"
    fake.write_text('var s="</script><b>";globalThis.mermaid={};')
    monkeypatch.setattr(export, "MERMAID_JS", fake)
    assert export.mermaid_source() == 'var s="<\\/script><b>";globalThis.mermaid={};'


def test_installing_the_config_keeps_other_nbconvert_settings(tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "jupyter"
    etc.mkdir(parents=True)
    (etc / "jupyter_nbconvert_config.json").write_text(
        json.dumps({"HTMLExporter": {"exclude_input": True}, "NbConvertApp": {"x": 1}}))
    export.install_jupyter_config(tmp_path)
    data = json.loads((etc / "jupyter_nbconvert_config.json").read_text())
    assert data["NbConvertApp"] == {"x": 1} and data["HTMLExporter"]["exclude_input"] is True
    assert data["HTMLExporter"]["template_name"] == "svclab"
    assert data["HTMLExporter"]["extra_template_basedirs"] == [str(export.TEMPLATES)]


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def _rendered_in_browser(html: str, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran in headless Chromium with every network
    request sent to a dead proxy (file: and data: URLs still load)."""
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    return result.stdout


@NEEDS_MERMAID
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium) to render the page")
def test_exported_diagrams_render_in_a_browser_without_network(tmp_path: Path) -> None:
    from nbconvert import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from traitlets.config.loader import PyFileConfigLoader

    notebook = _notebooks_with_diagrams()[0]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    feedback, _ = HTMLExporter(config=GenerateFeedback(config=config).config).from_filename(
        str(notebook), resources={"nbgrader": {"notebook": "n", "score": 1, "max_score": 1, "late_penalty": 0}})
    for html in (export.export_html(notebook), feedback):
        dom = _rendered_in_browser(html, tmp_path)
        assert 'class="jp-Mermaid jp-RenderedMermaid"' in dom, "the diagram was not rendered"
        assert "jp-Mermaid jp-mod-warning" not in dom, "mermaid could not render the diagram"
        assert '<figure><img src="data:image/svg+xml' in dom


@NEEDS_MERMAID
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium) to render the page")
def test_feedback_diagrams_are_light_and_their_labels_fit(tmp_path: Path) -> None:
    """nbgrader's feedback page is the classic template with Bootstrap 3: no JupyterLab
    theme attribute (mermaid drew in its dark theme) and a `.label` badge style (mermaid
    measured its labels at 75% and clipped them when drawn at full size)."""
    import urllib.parse

    import nbformat
    from nbconvert import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from traitlets.config.loader import PyFileConfigLoader

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        '```mermaid\nflowchart LR\n    fe["frontend<br/>app=frontend"] --> be["backend<br/>app=backend"]\n```'))
    path = tmp_path / "diagram.ipynb"
    nbformat.write(nb, path)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    feedback, _ = HTMLExporter(config=GenerateFeedback(config=config).config).from_filename(
        str(path), resources={"nbgrader": {"notebook": "n", "score": 1, "max_score": 1, "late_penalty": 0}})
    dom = _rendered_in_browser(feedback, tmp_path)
    svg = urllib.parse.unquote(dom.split('<img src="data:image/svg+xml,', 1)[1].split('"', 1)[0]).upper()
    assert "#ECECFF" in svg and "#1F2020" not in svg, "not mermaid's light (default) theme"
    heights = [float(h) for h in re.findall(r'<FOREIGNOBJECT HEIGHT="([\d.]+)"', svg) if float(h)]  # 0: no edge label
    # two lines of mermaid's 16 px font: a box measured at Bootstrap's 75% is about 24 px
    assert heights and min(heights) >= 2 * 16, heights


@NEEDS_MERMAID
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium) to render the page")
def test_a_line_break_in_a_label_survives_the_export(tmp_path: Path) -> None:
    import urllib.parse

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        '```mermaid\nflowchart LR\n    fe["frontend<br/>app=frontend"] --> p1["backend pod 1"]\n```'))
    path = tmp_path / "diagram.ipynb"
    nbformat.write(nb, path)
    dom = _rendered_in_browser(export.export_html(path), tmp_path)
    svg = urllib.parse.unquote(dom.split('<img src="data:image/svg+xml,', 1)[1].split('"', 1)[0])
    # notebook 09's labels: the export used to show "frontendapp=frontend"
    assert re.search(r"frontend\s*<br\s*/?>\s*app=frontend", svg), svg[:3000]
