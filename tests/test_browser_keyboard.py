"""Every lesson's panels work from the keyboard alone, in Chromium through Voila (issue 14 item 3).

One Voila server serves ``notebooks/``; in each lesson page, from the top:

- Tab alone reaches every control of every panel (slider handles, dropdowns,
  buttons, check boxes), in page order;
- on the first panel, each slider's handle and each dropdown, once focused, moves
  with an arrow key, each choice button answers Space, and the panel answers: its
  figure is redrawn (its pixels change) or, where the figure shows the same
  picture, its readout changes (the backend dropdown is left alone: another
  backend draws the same numbers).

What each key did is written to ``artifacts/browser/keyboard/keyboard.json``.
Skips without Chromium, Playwright or Voila unless ``LOSSKIT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser import voila
from test_browser_layout import _lessons, _open

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "browser" / "keyboard"

#: Number every visible control inside the panels (data-kbd); returns how many there are
#: and how many elements of the whole page Tab may stop at.
LABEL_JS = """() => {
  // (ipympl's toolbar, turned off, stays in the page with visibility: hidden)
  const visible = (el) => el.getClientRects().length > 0 && !el.disabled
    && getComputedStyle(el).visibility === 'visible';
  const sel = 'select, button, input, textarea, [tabindex]:not([tabindex="-1"])';
  const controls = [...document.querySelectorAll('.losskit-panel')]
    .flatMap((p) => [...p.querySelectorAll(sel)]).filter(visible);
  controls.forEach((el, i) => el.setAttribute('data-kbd', String(i)));
  // (each slider's value box is editable text: a Tab stop of its own)
  const stops = [...document.querySelectorAll(sel + ', a[href], summary, [contenteditable]')]
    .filter(visible);
  return {controls: controls.length, stops: stops.length,
          names: controls.map((el) => el.getAttribute('aria-label')
            || el.closest('.widget-inline-hbox')?.querySelector(':scope > label')?.textContent
            || el.textContent.trim() || el.title || el.tagName)};
}"""

#: The focused element's data-kbd ('' when focus is outside the panels).
FOCUSED_JS = "() => (document.activeElement && document.activeElement.getAttribute('data-kbd'))"

#: A cheap fingerprint of the first panel's figure pixels, and its readout's text.
STATE_JS = """() => {
  const panel = document.querySelector('.losskit-panel');
  const fig = panel.querySelector('img.losskit-figure, .jupyter-matplotlib-canvas-div canvas');
  const data = fig.tagName === 'IMG' ? fig.src : fig.toDataURL();
  let h = 0;
  for (let i = 0; i < data.length; i += 7) h = (h * 31 + data.charCodeAt(i)) | 0;
  const readout = panel.querySelector(':scope > .widget-html:last-child');
  return {figure: data.length + ':' + h, readout: readout ? readout.innerText : ''};
}"""

#: The first panel's sliders, dropdowns and choice buttons: where to press, which key moves it.
KEYS_JS = """() => {
  const panel = document.querySelector('.losskit-panel');
  const sel = '.noUi-handle, select, .widget-toggle-button:not(.mod-active)';
  return [...panel.querySelectorAll(sel)].filter((el) => el.hasAttribute('data-kbd'))
    .map((el) => {
      const kbd = el.getAttribute('data-kbd');
      if (el.tagName === 'SELECT')
        return {kbd, kind: 'dropdown', options: el.options.length,
                key: el.selectedIndex < el.options.length - 1 ? 'ArrowDown' : 'ArrowUp'};
      if (el.tagName === 'BUTTON') return {kbd, kind: 'choice', key: 'Space'};
      return {kbd, kind: 'slider', key: 'ArrowRight'};
    });
}"""


@pytest.fixture(scope="module")
def voila_server():
    OUT.mkdir(parents=True, exist_ok=True)
    with voila("notebooks", OUT) as server:
        yield server


def _tab_through(page, stops: int) -> list[str]:
    """Tab from the top of the page past its last stop; the panel controls reached, in order."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    reached = []
    for _ in range(stops + 5):
        page.keyboard.press("Tab")
        kbd = page.evaluate(FOCUSED_JS)
        if kbd is not None and kbd not in reached:
            reached.append(kbd)
    return reached


def _press_and_wait(page, kbd: str, key: str, presses: int = 5) -> dict:
    """Focus control ``kbd`` and press ``key`` until the panel answers (a slider's one step
    may leave the picture as it was: min_delta 0 -> 0.001), at most ``presses`` times."""
    page.locator(f'[data-kbd="{kbd}"]').focus()
    page.wait_for_timeout(300)  # a change still on its way from the last key
    before = page.evaluate(STATE_JS)
    for pressed in range(1, presses + 1):
        page.keyboard.press(key)
        try:
            page.wait_for_function(
                f"(b) => {{ const s = ({STATE_JS})(); return s.figure !== b.figure"
                " || s.readout !== b.readout; }",
                arg=before,
                timeout=6_000,
                polling=100,
            )
        except Exception:  # noqa: BLE001 (no answer yet: press again)
            continue
        page.wait_for_timeout(500)  # the figure may follow the readout by a frame
        after = page.evaluate(STATE_JS)
        return {
            "presses": pressed,
            "figure": after["figure"] != before["figure"],
            "readout": after["readout"] != before["readout"],
        }
    return {"presses": presses, "figure": False, "readout": False}


def test_every_control_is_reached_by_tab_and_moved_by_arrow_keys(voila_server):
    from playwright.sync_api import sync_playwright

    chromium, port = voila_server
    record, failures = {}, []
    with sync_playwright() as pw:
        for notebook in _lessons():
            browser, page = _open(pw, chromium, port, notebook)
            try:
                labelled = page.evaluate(LABEL_JS)
                reached = _tab_through(page, labelled["stops"])
                missed = [
                    labelled["names"][i]
                    for i in range(labelled["controls"])
                    if str(i) not in reached
                ]
                if labelled["controls"] == 0:
                    failures.append(f"{notebook}: no panel control found")
                if missed:
                    failures.append(f"{notebook}: Tab never reaches {missed}")
                if reached != sorted(reached, key=int):
                    failures.append(f"{notebook}: Tab order {reached} is not the page order")
                keys = []
                for control in page.evaluate(KEYS_JS):
                    name = labelled["names"][int(control["kbd"])]
                    if control["kind"] == "dropdown" and (
                        control["options"] < 2 or name.strip() == "backend"
                    ):
                        continue  # nothing to move to; another backend draws the same numbers
                    changed = _press_and_wait(page, control["kbd"], control["key"])
                    if control["kind"] == "slider" and not (
                        changed["figure"] or changed["readout"]
                    ):
                        control["key"] = "ArrowLeft"  # the slider was at its maximum
                        changed = _press_and_wait(page, control["kbd"], control["key"])
                    keys.append({"control": name, **control, **changed})
                    if not (changed["figure"] or changed["readout"]):
                        failures.append(
                            f"{notebook}: {control['key']} on {control['kind']} {name!r} "
                            "changed neither the figure nor the readout"
                        )
                if not any(k["figure"] for k in keys):
                    failures.append(f"{notebook}: no key press redrew the first panel's figure")
                record[notebook] = {"controls": labelled["names"], "tab": reached, "keys": keys}
            finally:
                browser.close()
    (OUT / "keyboard.json").write_text(json.dumps(record, indent=1))
    assert not failures, "\n".join(failures)
