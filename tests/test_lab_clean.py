"""Opening a lesson in JupyterLab does not mark it modified, and saving rewrites nothing.

A student who opens a lesson and closes it must not be asked "save changes?",
and an instructor's ``git status`` must stay clean after a demo. A real
``jupyter lab`` (with the jupytext server extension, as ``make lab`` runs it)
serves a copy of ``notebooks/``, ``notebooks_src/`` and ``jupytext.toml``;
Chromium opens each lesson, waits for its kernel to be idle, checks that the tab
has no unsaved-changes mark, presses Ctrl+S and checks that the save happened
(new modification time) and that both files of the pair are byte for byte the
same.

The one machine-dependent field is ``language_info.version``, the kernel's Python
(JupyterLab records it when the kernel starts). The lessons store the version of
the Python that last synced them; where this machine's differs, the copy is
stamped with this one first, so the check covers everything else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ipykernel.ipkernel import IPythonKernel
from test_browser import (
    CHROMIUM_ARGS,
    KERNEL_IDLE_JS,
    _chromium,
    _free_port,
    _skip_or_fail,
    _wait_for_port,
)

from losskit.lessons import LESSONS, TOUR

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "browser" / "lab_clean"
TOKEN = "losskit-lab-clean"
NOTEBOOKS = [TOUR, *(lesson.notebook for lesson in LESSONS)]
DIRTY_TAB = ".lm-TabBar-tab.jp-mod-dirty"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the lesson folders: (page factory, copy root)."""
    chromium = _chromium()
    if chromium is None:
        _skip_or_fail("Chromium not found (/usr/bin/chromium or `chromium` on PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("the Playwright Python package is not installed")
    lab_bin = shutil.which("jupyter-lab", path=str(Path(sys.executable).parent))
    if lab_bin is None:
        _skip_or_fail("JupyterLab is not installed (pip install -e '.[lab]')")

    root = tmp_path_factory.mktemp("lab")
    for folder in ("notebooks", "notebooks_src"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy2(ROOT / "jupytext.toml", root / "jupytext.toml")
    here = IPythonKernel.language_info["version"]
    for path in (root / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        if nb["metadata"].get("language_info", {}).get("version", here) != here:
            nb["metadata"]["language_info"]["version"] = here
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "lab.log"
    port = _free_port()
    # a fresh workspace and user settings: no tabs restored from a developer's session
    env = {**os.environ, "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings")}  # fmt: skip
    cmd = [lab_bin, "--no-browser", f"--port={port}", f"--ServerApp.token={TOKEN}",
           f"--ServerApp.root_dir={root}", "--allow-root"]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        _wait_for_port(port, proc, log, timeout=120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)

            def open_page(name: str):
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                # a workspace of its own: no tab restored from the lesson opened before (and
                # no ?reset, which reloads the notebook while the test starts using it)
                url = (f"http://127.0.0.1:{port}/lab/workspaces/{name}/tree/notebooks/"
                       f"{name}.ipynb?token={TOKEN}")  # fmt: skip
                page.goto(url)
                page.wait_for_selector(
                    ".jp-NotebookPanel .jp-Cell", state="attached", timeout=90_000
                )
                page.wait_for_function(KERNEL_IDLE_JS, timeout=90_000)
                return page

            yield open_page, root
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_open_is_clean_and_save_rewrites_nothing(lab, name):
    open_page, root = lab
    pair = [root / "notebooks" / f"{name}.ipynb", root / "notebooks_src" / f"{name}.py"]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in pair]
    page = open_page(name)
    try:
        # JupyterLab writes language_info a moment after the kernel reports idle
        page.wait_for_timeout(2000)
        dirty = page.locator(DIRTY_TAB).count()
        page.screenshot(path=ARTIFACTS / f"{name}.png")
        assert dirty == 0, f"{name}: JupyterLab marks the lesson modified as soon as it opens"
        # Ctrl+S, pressed again every 5 s until both files are written (30 s in all): on a
        # busy machine a key pressed while JupyterLab is still settling can go unheard
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            p.stat().st_mtime_ns == mtime for p, (_, mtime) in zip(pair, before, strict=True)
        ):
            page.locator(".jp-NotebookPanel-notebook").first.click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+s")
            for _ in range(25):
                page.wait_for_timeout(200)
                if all(p.stat().st_mtime_ns != m for p, (_, m) in zip(pair, before, strict=True)):
                    break
    finally:
        page.close()
    for path, (data, mtime) in zip(pair, before, strict=True):
        assert path.stat().st_mtime_ns != mtime, f"{path.name} was not saved by Ctrl+S"
        if path.read_bytes() != data:
            shutil.copy2(path, ARTIFACTS / f"{path.name}.saved")
            pytest.fail(f"saving {path.name} in JupyterLab changed it: see {ARTIFACTS}")
