"""HTML exports of notebooks (nbconvert, nbgrader feedback) that show mermaid diagrams
without network access.

Why: nbconvert 7's HTML exporter renders a ```mermaid block as `<pre class="mermaid">` and
loads mermaid itself with `import()` from a CDN URL (`HTMLExporter.mermaid_js_url`, which
is not even a configurable trait), so an offline classroom sees raw diagram source.
nbgrader's feedback template replaces the whole page header, so its pages never load
mermaid at all. The course's templates here inline a pinned copy of mermaid instead:

- `svclab`: nbconvert's `lab` template, mermaid inlined (`jupyter nbconvert --to html`,
  JupyterLab's "Save and Export As > HTML" once `install_jupyter_config()` has run);
- `feedback/feedback-mermaid.html.j2`: nbgrader's feedback template plus mermaid
  (`configure_feedback(c)` in nbgrader_config.py).

The copy is `vendor/mermaid.min.js` (git-ignored), put there by `make mermaid` from the
npm package, version and checksum pinned in the Makefile. Without it the templates fall
back to nbconvert's CDN behaviour, so an export never fails for want of it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
MERMAID_JS = HERE / "vendor" / "mermaid.min.js"
HTML_TEMPLATE = "svclab"
FEEDBACK_TEMPLATE = "feedback"          # nbgrader's name: its API forces it (see the template)
FEEDBACK_FILE = "feedback-mermaid.html.j2"

try:  # nbconvert is a dependency of jupyterlab and nbgrader, but `svclab check` never needs it
    from nbconvert.preprocessors import Preprocessor
except ImportError:  # pragma: no cover
    Preprocessor = object  # type: ignore[misc,assignment]


def mermaid_source() -> str | None:
    """The vendored mermaid bundle, safe to put inside an inline <script>; None if absent."""
    if not MERMAID_JS.is_file():
        return None
    # "</script" inside a string would end the inline script early; "<\/" means the same in JS.
    return MERMAID_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")


class InlineMermaid(Preprocessor):  # type: ignore[misc,valid-type]
    """Hands the vendored mermaid bundle to the templates (`resources.svclab_mermaid_js`).
    Registered by the templates' conf.json, so every exporter using them runs it."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        source = mermaid_source()
        if source is not None:
            import markupsafe

            resources["svclab_mermaid_js"] = markupsafe.Markup(source)  # noqa: S704 - our vendored file
        return nb, resources


def html_config() -> dict[str, Any]:
    """nbconvert config (as a dict) selecting the offline-mermaid HTML template."""
    return {"HTMLExporter": {"template_name": HTML_TEMPLATE,
                             "extra_template_basedirs": [str(TEMPLATES)]}}


def html_exporter() -> Any:
    """An nbconvert HTMLExporter with the course's template."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    return HTMLExporter(config=Config(html_config()))


def export_html(notebook: str | Path) -> str:
    """The notebook at `notebook` as a self-contained HTML page (diagrams render offline)."""
    body, _ = html_exporter().from_filename(str(notebook))
    return body


def nbgrader_feedback_templates() -> Path:
    """Where nbgrader keeps its `feedback` template (it adds this path itself only when no
    template is configured, so a configured template must add it again)."""
    import nbgrader

    return Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"


def configure_feedback(c: Any) -> None:
    """For nbgrader_config.py: feedback pages that render mermaid offline, both from
    `nbgrader generate_feedback` and from nbgrader's API (formgrader, grader.grading),
    which sets template_name itself."""
    c.HTMLExporter.template_name = FEEDBACK_TEMPLATE
    c.HTMLExporter.template_file = FEEDBACK_FILE
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_feedback_templates())]


def install_jupyter_config(prefix: str | Path = sys.prefix) -> list[Path]:
    """Make this environment's `jupyter nbconvert` and JupyterLab's HTML export use the
    course template, and its servers load `grader.jupyter_quiet` (files under
    PREFIX/etc/jupyter; other settings there are kept)."""
    etc = Path(prefix) / "etc" / "jupyter"
    written = []
    nbconvert_file = etc / "jupyter_nbconvert_config.json"
    data = json.loads(nbconvert_file.read_text()) if nbconvert_file.is_file() else {}
    data.setdefault("HTMLExporter", {}).update(html_config()["HTMLExporter"])
    server_file = etc / "jupyter_server_config.d" / "svclab-export.json"
    # grader.jupyter_quiet: drops jupyter_server's millisecond keep-alive false alarm
    quiet_file = etc / "jupyter_server_config.d" / "svclab-quiet.json"
    quiet = {"ServerApp": {"jpserver_extensions": {"grader.jupyter_quiet": True}}}
    for path, content in ((nbconvert_file, data), (server_file, html_config()), (quiet_file, quiet)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
        written.append(path)
    return written

