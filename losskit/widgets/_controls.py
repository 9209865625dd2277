"""Control factories shared by the panels: projector-readable, update on release."""

from __future__ import annotations

import ipywidgets as W

WIDE = {"description_width": "initial"}


def choice_slider(options, value, description, width="330px"):
    """A slider over fixed values (batch sizes, dataset sizes), firing on release."""
    return W.SelectionSlider(
        options=list(options),
        value=value,
        description=description,
        continuous_update=False,
        style=WIDE,
        layout=W.Layout(width=width),
    )


def int_slider(value, lo, hi, description, step=1, width="330px"):
    return W.IntSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=False,
        style=WIDE,
        layout=W.Layout(width=width),
    )


def log_slider(value, lo_exp, hi_exp, description, step=0.05, width="330px"):
    """A logarithmic float slider from ``10**lo_exp`` to ``10**hi_exp`` (learning rates)."""
    return W.FloatLogSlider(
        value=value,
        base=10,
        min=lo_exp,
        max=hi_exp,
        step=step,
        description=description,
        readout_format=".3g",
        continuous_update=False,
        style=WIDE,
        layout=W.Layout(width=width),
    )


def toggle(options, value, description):
    return W.ToggleButtons(options=list(options), value=value, description=description, style=WIDE)


def checkbox(value, description):
    return W.Checkbox(value=value, description=description, indent=False, style=WIDE)
