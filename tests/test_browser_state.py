"""A settings link opened in Chromium through Voila: the panel starts from its state.

Lesson 3 is opened with ``?losskit=<state>`` (scale 10, float64, not the defaults);
the logit-scale slider's shown value, the dtype dropdown and the readout follow the
state, and the panel's "link to these settings" carries the same state back.
Skips without Chromium, Playwright or Voila unless ``LOSSKIT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser import CHROMIUM_ARGS, loopback_only, voila

from losskit.widgets import _state

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "artifacts" / "browser" / "state"
STATE = _state.encode("LSEOverflowPanel", {"scale": 10.0, "dtype": "float64"})

#: The first panel's slider readout, its dropdowns' values, its readout and its link.
SHOWN_JS = """() => {
  const p = document.querySelector('.losskit-panel');
  const link = p.querySelector('.losskit-link a');
  return {slider: p.querySelector('.widget-slider .widget-readout')?.textContent.trim(),
          selects: [...p.querySelectorAll('select')].map((s) => s.value),
          readout: p.querySelector(':scope > .widget-html:last-child').innerText,
          link: link ? link.getAttribute('href') : null,
          message: p.innerText.includes('could not be used')};
}"""


def test_a_settings_link_opens_the_panel_with_its_settings():
    from playwright.sync_api import sync_playwright

    with voila("notebooks", OUT) as (chromium, port), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            loopback_only(page, port)
            url = f"http://127.0.0.1:{port}/voila/render/03_log_sum_exp.ipynb?losskit={STATE}"
            page.goto(url, timeout=180_000)
            page.wait_for_function(
                "() => { const p = document.querySelector('.losskit-panel');"
                " return p && p.querySelector(':scope > .widget-html:last-child tr')"
                " && p.querySelector('.losskit-link a'); }",
                timeout=180_000,
                polling=500,
            )
            shown = page.evaluate(SHOWN_JS)
            page.screenshot(path=str(OUT / "lesson3_from_link.png"))
        finally:
            browser.close()
    assert float(shown["slider"]) == 10.0, shown  # the slider shows the state's scale
    assert "float64" in shown["selects"], shown
    assert "s = 10:" in shown["readout"] and "float64 naive" in shown["readout"], shown
    assert not shown["message"], shown
    assert shown["link"].endswith(f"?losskit={STATE}"), shown
