"""Control factories shared by the panels: projector-readable, live while dragged.

Sliders send every position while dragged (``continuous_update``); the panel
throttles its refreshes (latest value wins), so the figure follows the drag.
"""

from __future__ import annotations

import ipywidgets as W

WIDE = {"description_width": "initial"}


def choice_slider(options, value, description, width="330px"):
    """A slider over fixed values (batch sizes, dataset sizes), sent while dragged."""
    return W.SelectionSlider(
        options=list(options),
        value=value,
        description=description,
        continuous_update=True,
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
        continuous_update=True,
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
        continuous_update=True,
        style=WIDE,
        layout=W.Layout(width=width),
    )


def toggle(options, value, description):
    return W.ToggleButtons(options=list(options), value=value, description=description, style=WIDE)


def checkbox(value, description):
    return W.Checkbox(value=value, description=description, indent=False, style=WIDE)


def offer_only(control, options):
    """Let a selection slider offer only ``options`` (sorted numbers), keeping its value if offered.

    A value no longer offered moves to the largest option below it (the smallest
    option if there is none). Returns ``(old, new)`` when the value had to move,
    else ``None``. The front-end receives the new options and value in one message.
    """
    options = list(options)
    old = control.value
    with control.hold_sync():
        if list(control.options) != options:
            control.options = options  # ipywidgets selects the first option: put the value back
        below = [o for o in options if o <= old]
        new = old if old in options else (max(below) if below else options[0])
        if control.value != new:
            control.value = new
    return None if new == old else (old, new)


def batch_sizes_up_to(control, sizes, n: int) -> list:
    """Offer only the batch sizes of ``sizes`` up to the dataset size ``n`` on ``control``.

    Returns the note to show when the chosen batch no longer fits and moved (else ``[]``).
    """
    moved = offer_only(control, [b for b in sizes if b <= n])
    if moved is None:
        return []
    old, new = moved
    return [
        f"B = {old} is more than the N = {n} samples: B is now {new}, the largest batch "
        f"offered for N = {n}."
    ]
