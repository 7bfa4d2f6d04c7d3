"""A table of probe outcomes fits JupyterLab's output area: its WHY column (long, naming
pods, few spaces) used to push the table past the area's edge, cut off (notebook 12)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.display import outcomes_table
from grader.observations import Outcome, Status

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
# JupyterLab 4's own rules for rendered HTML tables (jp-RenderedHTMLCommon), and an output
# area as wide as in a 1400 px window with the file browser open.
JUPYTERLAB_CSS = """
.jp-OutputArea-output { width: 968px; overflow: auto; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none;
  table-layout: fixed; margin-left: auto; margin-bottom: 1em; margin-right: auto; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr {
  vertical-align: middle; padding: 0.5em; line-height: normal; white-space: normal; max-width: none; border: none; }
"""


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium) to lay out the page")
def test_the_why_column_stays_inside_the_output_area(tmp_path: Path) -> None:
    # The shape of notebook 12's table: long targets, reasons made of pod and Service names.
    outcomes = [
        Outcome(Status.DNS_ERROR, "api:80/hostname", reason=(
            "DNS lookup of 'api' timed out: the DNS query was dropped by NetworkPolicy: Denied: "
            "troubleshoot/web-lfbsfn2tf4-5fvsj->kube-system/coredns-sv4vqwbhv9-fhszf:53/UDP")),
        Outcome(Status.NO_ENDPOINTS, "api.troubleshoot.svc.cluster.local:80/hostname", reason=(
            "Service troubleshoot/api has no ready endpoints: no pod in troubleshoot carries the labels "
            "app=api,tier=backend")),
        Outcome(Status.DNS_ERROR, "db.troubleshooting.svc.cluster.local:5432/hostname", reason=(
            "'db.troubleshooting.svc.cluster.local' does not exist (NXDOMAIN; tried "
            "db.troubleshooting.svc.cluster.local.troubleshoot.svc.cluster.local,"
            "db.troubleshooting.svc.cluster.local.svc.cluster.local)")),
    ]
    page = tmp_path / "table.html"
    page.write_text(
        f"<html><head><style>{JUPYTERLAB_CSS}</style></head><body>"
        f"<div class='jp-OutputArea-output jp-RenderedHTMLCommon'>{outcomes_table(outcomes)._repr_html_()}</div>"
        "<script>document.addEventListener('DOMContentLoaded', () => {"
        "document.body.dataset.tableWidth = Math.round(document.querySelector('table').getBoundingClientRect().width);"
        "});</script></body></html>")
    dom = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    width = int(re.search(r'data-table-width="(\d+)"', dom).group(1))
    assert width <= 968, f"the table is {width} px wide in a 968 px output area"
