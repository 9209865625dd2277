"""Every lesson in JupyterLab, file browser open: the panels fit where students run them.

The Voila half of issue 14 item 1 is tests/test_browser_layout.py; this is the
JupyterLab half. The real ``jupyter lab`` of tests/test_lab_clean.py serves a copy
of the lessons; Chromium opens each one at 1366x768 with the file browser open (a
fresh workspace opens it; at the projector size, 1280x720 at 150 %, it is hidden
as an instructor would, with Ctrl+B), runs it with Run > Run All Cells and, at each of the
three window sizes, scrolls the panel to the top of the notebook and measures it:
the figure inside the output area and no horizontal scroll; controls, figure and
the readout's first row inside the notebook's visible area, and every quarter of the
figure painted (a resized canvas once kept a blank right subplot) (between JupyterLab's
toolbar and its status bar). At the projector size only the widths are asserted:
JupyterLab's menu, tabs, toolbar and status bar leave the notebook 359 of the 480
CSS px, less than title, controls, a readable figure and a readout row need; there
the lesson is shown in Voila (tests/test_browser_layout.py asserts all of it).
Screenshots: ``artifacts/browser/lab_layout/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_browser import run_all
from test_browser_layout import MEASURE_JS, SIZES, _problems, ink_problems
from test_lab_clean import ROOT, TOKEN, lab  # noqa: F401 (lab: the JupyterLab server fixture)

from losskit.lessons import LESSONS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

OUT = ROOT / "artifacts" / "browser" / "lab_layout"
PROJECTOR = "1280x720_150pct"

#: MEASURE_JS, with the window replaced by the notebook's scrolling area: in JupyterLab
#: the menu, tab bar and toolbar sit above it and the status bar below it.
LAB_MEASURE_JS = f"""() => {{
  const measured = ({MEASURE_JS})();
  const scroller = document.querySelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const r = scroller.getBoundingClientRect();
  const panels = [...document.querySelectorAll('.losskit-panel')];
  measured.forEach((m, i) => {{
    // horizontal overflow of the panel's own output area (a wide cell elsewhere, a long
    // code line, scrolls the notebook but is not the panel's); and the area inside the view
    const area = panels[i].closest('.jp-OutputArea-output') || panels[i].parentElement;
    const a = area.getBoundingClientRect();
    m.scroll_w = Math.max(area.scrollWidth, Math.ceil(a.width));
    m.client_w = Math.min(area.clientWidth, Math.floor(r.left + scroller.clientWidth - a.left));
  }});
  for (const m of measured) {{
    for (const k of ['fig', 'area', 'controls', 'readout', 'first_row', 'panel']) {{
      if (m[k]) {{ m[k].y -= r.top; m[k].bottom -= r.top; }}
    }}
    m.view_h = r.height;
  }}
  return measured;
}}"""

PANELS_DRAWN_JS = """() => {
  const panels = [...document.querySelectorAll('.losskit-panel')];
  return panels.length > 0 && panels.every((p) =>
    [...p.querySelectorAll('img.losskit-figure, .jupyter-matplotlib-canvas-div canvas')]
      .some((f) => f.getBoundingClientRect().width > 200));
}"""


def test_this_jupyterlab_attaches_every_cell():
    """The settings `make lab`/`make test` install (jupyter-settings/overrides.json): with
    JupyterLab's lazy windowing a panel far from the view stayed blank after Run All; the
    news toast covered the readout."""
    installed = Path(sys.prefix, "share", "jupyter", "lab", "settings", "overrides.json")
    assert installed.exists(), f"{installed} is missing: run `make test` (or make lab)"
    assert installed.read_text() == (ROOT / "jupyter-settings" / "overrides.json").read_text()
    settings = json.loads(installed.read_text())
    assert settings["@jupyterlab/notebook-extension:tracker"]["windowingMode"] == "none"
    # no "Would you like to get notified about official Jupyter news?" toast over the
    # panel's readout, and no request to the web on a hub that has none
    notification = settings["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


@pytest.mark.parametrize("notebook", [lesson.notebook for lesson in LESSONS])
def test_every_lesson_fits_jupyterlab_with_the_file_browser_open(lab, notebook):  # noqa: F811
    open_page, _ = lab
    OUT.mkdir(parents=True, exist_ok=True)
    page = open_page(notebook)
    failures, record = [], {}
    try:
        assert page.locator("#filebrowser").is_visible(), "the file browser is not open"
        run_all(page)
        try:
            page.wait_for_function(PANELS_DRAWN_JS, timeout=180_000, polling=500)
        except Exception:
            page.screenshot(path=str(OUT / f"{notebook}_not_drawn.png"))
            errors = page.evaluate(
                "() => [...document.querySelectorAll("
                "'[data-mime-type=\"application/vnd.jupyter.stderr\"]')].map((e) => e.innerText)"
            )
            (OUT / f"{notebook}_errors.txt").write_text("\n\n".join(errors))
            raise
        page.wait_for_timeout(1500)  # the first draws the front-end asked for
        for size, (w, h) in SIZES.items():
            # at a projector (150 % zoom) the instructor hides the file browser (Ctrl+B)
            if page.locator("#filebrowser").is_visible() != (size != PROJECTOR):
                page.keyboard.press("Control+b")
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(800)  # layout after the resize
            measured = page.evaluate(LAB_MEASURE_JS)
            page.evaluate(
                "() => document.querySelector('.losskit-panel').scrollIntoView({block: 'start'})"
            )
            page.screenshot(path=str(OUT / f"{notebook}_{size}.png"))
            record[size] = measured
            for i, m in enumerate(measured):
                problems = _problems(m, vertical=size != PROJECTOR)
                failures += [f"{notebook} panel {i} at {size}: {p}" for p in problems]
            # a resize gives ipympl a new canvas: the figure must be repainted whole
            failures += ink_problems(page, f"{notebook} at {size}")
    finally:
        (OUT / f"{notebook}.json").write_text(json.dumps(record, indent=1))
        # shut the lesson's kernel down, as closing its tab and kernel would: eight kernels
        # left running slow the next lessons' Run All on a 2-core machine
        base = page.url.split("/lab/")[0]
        for kernel in page.request.get(f"{base}/api/kernels?token={TOKEN}").json():
            page.request.delete(f"{base}/api/kernels/{kernel['id']}?token={TOKEN}")
        page.close()
    assert not failures, "\n".join(failures)
