"""Shareable panel settings (issue 16 item 3): ``panel.state`` <-> ``Panel.from_state``.

Every panel's controls round-trip through the state string; a bad state (garbage,
another panel's, an unknown control, a value out of range or of the wrong type)
gives the defaults and a one-line message, never a traceback; a Voila page's
query (``QUERY_STRING``) starts the panel of its class from the state it holds.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from losskit.lessons import PANELS
from losskit.widgets import LSEOverflowPanel, ReductionsPanel, _state, random_value

NAMES = list(PANELS)


def make(cls, **kwargs):
    return cls(backend="numpy", mode="inline", debounce=0, **kwargs)


def settings(p) -> dict:
    return {k: v for k, v in p.values().items() if k != "backend"}


def raw_state(*payload) -> str:
    text = json.dumps(list(payload), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("name", NAMES)
def test_every_panel_round_trips_random_settings(name):
    cls = PANELS[name]
    rng = np.random.default_rng(16)
    with make(cls) as p:
        defaults = settings(p)
        assert len(p.state) < 60 and p.state_link() == f"?losskit={p.state}"
        p._updating = True  # set them all, then one refresh (sync_controls may move some)
        for key, control in p.controls.items():
            if key != "backend":
                control.value = random_value(control, rng)
        p._updating = False
        p.refresh()
        wanted, state = settings(p), p.state
    assert set(state) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    with make(cls) as fresh:
        assert settings(fresh) == defaults
    with cls.from_state(state, backend="numpy", mode="inline", debounce=0) as q:
        got = settings(q)
        assert got == wanted and q.last_traceback is None
        assert all(type(got[k]) is type(wanted[k]) for k in got)
        assert q.state == state
        assert "These settings could not be used" not in (q.error or "")


def test_state_holds_only_changed_values_and_the_link_follows():
    with make(LSEOverflowPanel) as p:
        assert _state.decode(p.state) == ("LSEOverflowPanel", {})
        p.controls["dtype"].value = "float16"
        assert _state.decode(p.state) == ("LSEOverflowPanel", {"dtype": "float16"})
        assert p.state_link() in p.link.value and "link to these settings" in p.link.value


def _bad_states():
    lse = "LSEOverflowPanel"
    return {
        "garbage": ("not a state!", "not a losskit settings string"),
        "not base64 json": ("QUJD", "not a losskit settings string"),
        "another panel": (_state.encode("ReductionsPanel", {}), "for ReductionsPanel"),
        "unknown control": (raw_state(1, lse, {"temperature": 3}), "temperature"),
        "out of range": (raw_state(1, lse, {"scale": 1e9}), "outside the control's range"),
        "wrong type": (raw_state(1, lse, {"scale": "big"}), "must be a number"),
        "not an option": (raw_state(1, lse, {"dtype": "int8"}), "not one of the control's"),
        "old version": (raw_state(0, lse, {}), "another version of losskit"),
        "not a string": (12, "a state is a string"),
    }


@pytest.mark.parametrize("case", list(_bad_states()))
def test_a_bad_state_gives_the_defaults_and_says_why(case):
    state, why = _bad_states()[case]
    with make(LSEOverflowPanel) as default:
        defaults = settings(default)
    # a valid value before the bad one: nothing of a refused state is kept
    if case == "out of range":
        state = raw_state(1, "LSEOverflowPanel", {"dtype": "float16", "scale": 1e9})
    with LSEOverflowPanel.from_state(state, backend="numpy", mode="inline", debounce=0) as p:
        assert settings(p) == defaults and p.last_traceback is None and p.updated
        assert p.error and "These settings could not be used" in p.error and why in p.error
        assert "starts from its defaults" in p.error and "Traceback" not in p.message.value
        assert "\n" not in p.error
        p.controls["dtype"].value = "float64"  # the note goes once the student moves on
        assert not p.error


def test_a_bad_keyword_still_raises():
    with pytest.raises(TypeError, match="unknown control"):
        LSEOverflowPanel.from_state(make(LSEOverflowPanel).state, temperature=3)


def test_voila_query_starts_the_panel_of_its_class(monkeypatch):
    with make(LSEOverflowPanel, dtype="float64", method="naive") as p:
        state = p.state
    monkeypatch.setenv("QUERY_STRING", f"x=1&losskit={state}")
    with make(LSEOverflowPanel) as q:
        assert q.controls["dtype"].value == "float64" and q.controls["method"].value == "naive"
        assert q.error is None
    with make(ReductionsPanel) as other:  # another class ignores it
        assert other.error is None and _state.decode(other.state)[1] == {}
    monkeypatch.setenv("QUERY_STRING", "losskit=broken")
    with make(LSEOverflowPanel) as bad:
        assert "These settings could not be used" in bad.error
        assert bad.controls["dtype"].value == "float32"


def test_link_shown_only_in_voila(monkeypatch):
    def has_link(p):
        stack, found = [p.widget], False
        while stack:
            w = stack.pop()
            found |= w is p.link
            stack.extend(getattr(w, "children", ()))
        return found

    with make(LSEOverflowPanel) as p:
        assert not has_link(p)
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    monkeypatch.setenv("SCRIPT_NAME", "/voila/render/03_log_sum_exp.ipynb")
    for cls in (LSEOverflowPanel, next(c for c in PANELS.values() if c.text_settings)):
        with make(cls) as p:
            assert has_link(p)
            assert f"href='/voila/render/03_log_sum_exp.ipynb?losskit={p.state}'" in p.link.value
