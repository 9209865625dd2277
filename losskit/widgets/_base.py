"""The one small class every lesson panel is: controls -> experiment -> figure update -> readout.

A :class:`Panel` owns ipywidgets controls, one matplotlib Figure for its whole
life, a readout (``ipywidgets.HTML``) of the key numbers and a message area.
When a control changes it calls its lesson's experiment with the controls'
values, moves the result into the figure's existing artists (``losskit.plots``
builders) and re-renders; the maths lives in ``losskit.experiments``, the
drawing in ``losskit.plots``: a panel only wires them together.

The figure's view (:mod:`._view`: a PNG in an ``ipywidgets.Image``, or ipympl's
live canvas under ``%matplotlib widget``) is chosen once, in ``__init__``; the
panel hands it each update and never branches on the mode. Both fill the output
area's width. Inside a kernel, changes are throttled (at most one refresh
scheduled, reading the latest values), so sliders update while dragged.

Errors never become tracebacks in the notebook: ``ValueError``, ``TypeError``
and ``FloatingPointError`` raised by the experiment (batch larger than the
data, ...) show their message in the panel; anything else, including any error
while drawing, is logged and shown as a one-line internal error. The figure
keeps the last valid result meanwhile; the readout does not keep its numbers
(they would describe settings no longer on screen) and says so instead.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import time
import traceback
import warnings
import weakref
from abc import ABC, abstractmethod

import ipywidgets as W
import matplotlib
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..backend import available_backends, get_backend
from . import _state
from ._view import FIT_CSS, make_view

__all__ = ["Panel", "detect_mode"]

log = logging.getLogger("losskit.widgets")
# A library never prints on its own: without this, logging's last-resort handler
# would write the traceback of an unexpected error to stderr, i.e. into the cell.
log.addHandler(logging.NullHandler())

IPYMPL_BACKENDS = ("module://ipympl.backend_nbagg", "ipympl", "widget")
EXPECTED_ERRORS = (ValueError, TypeError, FloatingPointError, ArithmeticError)
# NumPy's floating-point warnings ("overflow encountered in add"): arithmetic talking,
# not a message for a student, so the panel says in words what happened instead
FLOAT_WARNING = re.compile(r"(overflow|underflow|invalid value|divide by zero) encountered in ")
FLOAT_NOTE = (
    "Some values left the range of the number type: they became inf (overflow, or a "
    "division by zero) or NaN (an undefined result such as inf − inf or 0/0); the readout "
    "shows which."
)
# what the readout says while the controls' values are rejected: its numbers would belong
# to the last valid settings, not to the controls on screen
NO_READOUT = (
    "<div style='font-size:14px;color:#555'>No numbers for these settings (see the message "
    "above). The figure still shows the last settings that worked.</div>"
)
MESSAGE_STYLE = (
    "border-left:5px solid #D55E00;background:#FDF1E8;padding:6px 10px;"
    "margin:4px 0;font-size:14px;color:#222"
)


#: The panel each notebook cell shows, by (cell id, panel class): a re-run cell closes
#: the panel it showed before instead of leaving its widgets and figure behind.
_SHOWN: dict[tuple[str, str], weakref.ref] = {}


def _cell_id() -> str | None:
    """The running cell's id (JupyterLab and nbclient send it with each execute request
    as ``metadata.cellId``), or ``None`` outside a kernel or without one."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # noqa: BLE001 (no IPython, an old ipykernel: no cell to key on)
        return None
    cell = ((parent or {}).get("metadata") or {}).get("cellId")
    return cell if isinstance(cell, str) else None


def _current_backend() -> str:
    try:
        name = matplotlib.get_backend(auto_select=False)
    except TypeError:  # matplotlib < 3.10
        name = matplotlib.rcParams.get("backend")
    return (name or "").lower()


def detect_mode(mode: str = "auto") -> str:
    """``"ipympl"`` when matplotlib's backend is ipympl's widget backend, else ``"inline"``.

    ``mode`` forces one (``"ipympl"`` or ``"inline"``); ``"auto"`` looks at the
    current backend (set by ``%matplotlib widget``) without triggering one.
    """
    if mode not in ("auto", "ipympl", "inline"):
        raise ValueError(f"mode must be 'auto', 'ipympl' or 'inline'; got {mode!r}.")
    if mode != "auto":
        return mode
    return "ipympl" if _current_backend() in IPYMPL_BACKENDS else "inline"


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _hashable(value):
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    return value


def _detach_tickers(figure) -> None:
    """Drop the links from shared tick formatters back into ``figure``'s axes.

    ``losskit.plots`` sets module-level :class:`~matplotlib.ticker.FuncFormatter`
    instances (``LOG_FORMATTER``...) on many axes; matplotlib's ``set_axis`` leaves the
    last axis in them, which would keep a closed panel's whole figure alive. A
    FuncFormatter never reads ``.axis``, so clearing it is safe for every other user.
    """
    from ..plots import _style

    shared = [v for v in vars(_style).values() if isinstance(v, FuncFormatter)]
    for ax in figure.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            # the axis's own, and shared ones it used before (replaced since, still linked)
            current = [t.formatter for t in (axis.major, axis.minor)]
            for obj in (*current, *shared):
                if isinstance(obj, FuncFormatter) and getattr(obj, "axis", None) is axis:
                    obj.axis = None


def _option_values(options) -> list:
    """A selection control's values (its options, or the values of ``(label, value)`` pairs)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]


def _set_initial(panel: str, name: str, control, value) -> None:
    """``control.value = value`` for a constructor argument, refused instead of clamped.

    ipywidgets clamps a slider's value into its range and raises traitlets' own
    error for an unknown option; a panel's constructor says what the control takes.
    """
    options = getattr(control, "options", None)
    if options is not None and hasattr(control, "index"):
        values = _option_values(options)
        picks = value if isinstance(control.index, tuple) else (value,)
        try:
            ok = isinstance(picks, tuple | list) and all(v in values for v in picks)
        except (TypeError, ValueError):  # arrays and other values without a plain ==
            ok = False
        if not ok:
            raise ValueError(
                f"{panel}: {name}={value!r:.80} is not one of the control's choices "
                f"{values}; pass one of them."
            )
    elif hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        if type(control).__name__ == "FloatLogSlider":
            lo, hi = control.base**lo, control.base**hi
        items = value if isinstance(control.value, tuple) else (value,)
        kind = "int" if isinstance(control.value, int | tuple) and isinstance(lo, int) else "number"
        for v in items if isinstance(items, tuple | list) else (items,):
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise TypeError(
                    f"{panel}: {name} must be a{'n' if kind == 'int' else ''} {kind} in "
                    f"{lo:g}..{hi:g}; got {type(v).__name__} {v!r:.80}."
                )
            if not lo <= v <= hi:  # NaN fails too
                raise ValueError(
                    f"{panel}: {name}={v!r} is outside the control's range {lo:g}..{hi:g}; "
                    f"pass a value in it (the slider would clamp it silently)."
                )
    elif isinstance(control.value, bool) and not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{panel}: {name} must be True or False; got {type(value).__name__} {value!r:.80}."
        )
    try:
        control.value = value
    except Exception as exc:  # traitlets' TraitError: a value the control cannot hold
        raise TypeError(
            f"{panel}: {name}={value!r:.80} is not accepted by its control: {exc}"
        ) from None


def _in_voila() -> bool:
    """Whether this kernel was started by Voilà (it sets ``VOILA_BASE_URL`` in its environment)."""
    return "VOILA_BASE_URL" in os.environ


def _table(rows) -> str:
    cells = "".join(
        f"<tr><td style='padding:2px 14px 2px 0;color:#444'>{html.escape(str(k))}</td>"
        f"<td style='padding:2px 0;font-family:monospace'><b>{html.escape(str(v))}</b></td></tr>"
        for k, v in rows
    )
    return f"<table style='font-size:14px;border-collapse:collapse'>{cells}</table>"


def _warning_notes(caught) -> list:
    """Messages for the warnings caught while a panel computed and drew its result.

    NumPy's floating-point warnings become one plain sentence (:data:`FLOAT_NOTE`);
    any other warning is a message meant for the reader and is shown as it is.
    """
    return [
        FLOAT_NOTE
        if issubclass(w.category, RuntimeWarning) and FLOAT_WARNING.match(str(w.message))
        else f"{w.category.__name__}: {w.message}"
        for w in caught
    ]


class Panel(ABC):
    """Base class of the lesson panels. Subclasses define what is computed and shown.

    Subclass hooks:

    - ``title`` and ``lesson`` (shown above the controls), ``figsize``;
    - :meth:`make_controls` -> ``{name: ipywidgets control}`` (the backend
      dropdown is added here, and shown only when there is more than one backend);
    - :meth:`setup_figure` (optional) -> lay out ``self.figure`` before the first result;
    - :meth:`compute` -> the result for ``self.values()`` (calls experiments);
    - :meth:`draw` -> move a result into the figure's artists;
    - :meth:`readout_rows` -> ``[(label, text), ...]`` of the key numbers;
    - :meth:`notes` -> messages about a valid result worth showing (divergence,
      float16 overflow), in words; when it returns none, warnings raised while
      computing are shown instead, NumPy's floating-point ones as one plain sentence;
    - :meth:`sync_controls` -> keep controls that depend on others consistent
      before computing (batch sizes offered up to the dataset size N), returning
      a message for each value it had to change.

    Public attributes: ``controls``, ``figure``, ``readout`` (HTML), ``message``
    (HTML), ``result`` (latest valid result), ``error`` (``None`` or the message
    shown), ``updated`` (whether the last refresh redrew the figure), ``widget``
    (the container to display), ``view`` (the figure's :class:`~._view.View`),
    ``mode``, ``last_traceback`` (``None``, or the
    text of the last internal error).

    Arguments: ``backend`` (``"numpy"``, ``"cupy"``, ``"auto"``, ...; an unusable
    one falls back to NumPy with a message), ``mode`` (``"auto"``, ``"ipympl"``,
    ``"inline"``), ``debounce`` (inside a kernel's event loop: the least time in
    seconds between the end of one refresh and the next; changes meanwhile are
    coalesced, the latest value wins), ``dpi`` of the figure (default 110:
    the projector-size fonts of :mod:`losskit.plots._style`, 12-15 pt, come out
    at 18-23 px; at 72 dpi they were 12-15 px), ``state`` (a :attr:`state` string: the
    settings to start from, over the initial values; see :meth:`from_state`), and
    initial control values by name.

    Shareable settings: :attr:`state` is a short string of the controls' non-default
    values, :meth:`from_state` builds a panel from one, :meth:`state_link` is the
    query ``?losskit=<state>``. In Voilà the panel shows that link ("link to these
    settings", ``link``) and, created in a page opened with such a query, starts
    from the state it holds for this panel's class.
    """

    title = ""
    lesson = ""
    figsize = (12.0, 4.6)
    cache_size = 6
    #: The lesson text's settings, where they differ from the panel's (faster) defaults:
    #: the control values that reproduce the text's numbers. When set, a button
    #: "as in the text above" applies them (:meth:`use_text_settings`).
    text_settings: dict = {}

    def __init__(
        self, backend="auto", *, mode="auto", debounce=0.05, dpi=110, state=None, **values
    ):
        self.mode = detect_mode(mode)
        self.debounce = float(debounce)
        self.dpi = dpi
        self.error = None
        self.result = None
        self.last_traceback = None  # text of the last unexpected error, for debugging
        self.updated = False  # whether the last refresh redrew the figure
        self._pending = None  # the scheduled refresh (inside an event loop), if any
        self._last_refresh = -np.inf  # time.monotonic() at the end of the last refresh
        self._updating = False
        self._startup_note = None
        self._cache = {}
        self._parts = None  # SubFigures to repaint, None = the whole figure
        self.closed = False
        self.controls = dict(self.make_controls())
        self.controls["backend"] = self._backend_control(backend)
        self._defaults = {name: c.value for name, c in self.controls.items() if name != "backend"}
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown control(s) {unknown}; "
                f"valid names: {sorted(self.controls)}."
            )
        for name, value in values.items():
            _set_initial(type(self).__name__, name, self.controls[name], value)
        if state is None:  # in Voila: the page's query (?losskit=...), if it has one for us
            state = _state.from_query(os.environ.get("QUERY_STRING"), type(self).__name__)
        self._state_note = None if state is None else self._apply_state(state)
        self.readout = W.HTML()
        self.link = W.HTML(layout=W.Layout(flex="0 0 auto", margin="0 0 0 12px"))
        self.link.add_class("losskit-link")
        self.message = W.HTML()
        self.view = make_view(self.mode, self.figsize, self.dpi)
        self.figure = self.view.figure
        self.setup_figure()
        self.widget = self._assemble()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    # ----- subclass hooks -------------------------------------------------------------
    @abstractmethod
    def make_controls(self) -> dict:
        """The panel's controls: name -> ipywidgets control."""

    def setup_figure(self) -> None:  # noqa: B027 (optional hook, empty on purpose)
        """Lay out ``self.figure`` once, before the first result (say, :meth:`subfigures`).

        Optional: a one-builder panel's builder lays the figure out on its first draw.
        """

    @abstractmethod
    def compute(self, values: dict, backend: str):
        """Run the experiment for the controls' ``values``; return its result."""

    @abstractmethod
    def draw(self, result) -> None:
        """Update the figure's artists from ``result``."""

    def readout_rows(self, result) -> list:
        return []

    def notes(self, result) -> list:
        return []

    def sync_controls(self) -> list:
        """Bring controls that depend on other controls in line; return notes on changed values.

        Runs at the start of every refresh, before the values are read; changes
        made here do not trigger another refresh.
        """
        return []

    # ----- machinery --------------------------------------------------------------------
    def run(self, experiment, **kwargs):
        """``experiment(**kwargs)`` (a ``losskit.experiments`` function), remembered for
        repeated arguments.

        A panel that shows two experiments recomputes only the one whose
        controls changed; the last few results per experiment are kept.
        """
        key = (experiment, tuple(sorted((k, _hashable(v)) for k, v in kwargs.items())))
        if key in self._cache:
            self._cache[key] = self._cache.pop(key)  # most recently used last
            return self._cache[key]
        result = experiment(**kwargs)
        self._cache[key] = result
        while len(self._cache) > self.cache_size:
            self._cache.pop(next(iter(self._cache)))
        return result

    def subfigures(self, n: int, width_ratios=None):
        """``n`` side-by-side SubFigures of ``self.figure``, one per figure builder.

        Opaque (white), so that :meth:`redraw_only` can repaint one of them over
        the last frame when only its experiment changed.
        """
        subs = self.figure.subfigures(
            1, n, width_ratios=width_ratios, wspace=0.02, facecolor="white"
        )
        return list(np.atleast_1d(subs))

    def redraw_only(self, parts) -> None:
        """Tell the next render that only these SubFigures changed (inline mode repaints
        just them onto the last frame; a panel that never calls this redraws everything)."""
        self._parts = list(parts)

    @classmethod
    def from_state(cls, state, **kwargs):
        """The panel (built with ``kwargs``: backend, mode, ...) started from ``state``.

        A bad state (not one, another panel's, a control unknown or a value refused)
        never raises: the panel starts from its defaults and its message says why.
        """
        return cls(state=state, **kwargs)

    @property
    def state(self) -> str:
        """The controls' settings as a short URL-safe string (only values that differ from
        the defaults; the backend is left out: it depends on the machine)."""
        changed = {
            name: value
            for name, value in self.values().items()
            if name != "backend" and value != self._defaults[name]
        }
        return _state.encode(type(self).__name__, changed)

    def state_link(self) -> str:
        """The URL query that opens this lesson with these settings: ``?losskit=<state>``."""
        return f"?{_state.KEY}={self.state}"

    def _apply_state(self, state) -> str | None:
        """Set the controls from ``state`` (the defaults, then its values, each checked as
        a constructor value); ``None``, or the message saying why the controls were left
        as they were."""
        name = type(self).__name__
        try:
            owner, values = _state.decode(state)
            if owner != name:
                raise _state.StateError(f"they are for {owner}, not {name}")
            unknown = sorted(set(values) - set(self._defaults))
            if unknown:
                raise _state.StateError(
                    f"{name} has no control(s) {unknown} (a link from another losskit version?)"
                )
            before = self.values()
            try:
                for key, default in self._defaults.items():
                    self.controls[key].value = default
                for key, value in values.items():
                    value = _state.restore(value, self._defaults[key])
                    _set_initial(name, key, self.controls[key], value)
            except (ValueError, TypeError) as exc:
                for key, value in before.items():
                    self.controls[key].value = value
                raise _state.StateError(str(exc)) from None
        except _state.StateError as exc:
            return f"These settings could not be used: {exc}. The panel starts from its defaults."
        return None

    def _link_html(self) -> str:
        href = os.environ.get("SCRIPT_NAME", "") + self.state_link()
        return (
            f"<a href='{html.escape(href, quote=True)}' style='font-size:13px' "
            "title='open this lesson with these settings (copy the link to share them)'>"
            "link to these settings</a>"
        )

    def values(self) -> dict:
        """Current control values by name (the backend included)."""
        return {name: control.value for name, control in self.controls.items()}

    def use_text_settings(self) -> bool:
        """Set the controls to :attr:`text_settings` and refresh once; returns
        :meth:`refresh`'s answer. The settings are checked as constructor values are."""
        self._state_note = None  # the student moved on from a link's settings
        self._updating = True  # one refresh for all the changes, not one per control
        try:
            for name, value in self.text_settings.items():
                _set_initial(type(self).__name__, name, self.controls[name], value)
        finally:
            self._updating = False
        return self.refresh()

    def _backend_control(self, backend):
        names = available_backends()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chosen = get_backend(backend).name
        except (ValueError, TypeError) as exc:
            chosen = "numpy"
            self._startup_note = f"{exc} Using numpy."
        if chosen not in names:
            names.append(chosen)
        return W.Dropdown(
            options=names,
            value=chosen,
            description="backend",
            style={"description_width": "initial"},
            layout=W.Layout(width="220px"),
        )

    def _assemble(self):
        """Title, controls (one grid: same columns and wrapping at every width), messages,
        figure (the output area's width) and readout, in a VBox of class ``losskit-panel``."""
        head = W.HTML(
            f"<div style='font-size:17px;font-weight:600'>{html.escape(self.title)}</div>"
            + (
                f"<div style='font-size:13px;color:#555'>{html.escape(self.lesson)}</div>"
                if self.lesson
                else ""
            )
        )
        shown = [c for name, c in self.controls.items() if name != "backend" or len(c.options) > 1]
        for control in shown:
            control.layout.width = "100%"
            if isinstance(control, W.ToggleButtons):  # buttons as wide as their text:
                control.style.button_width = "auto"  # the label stays beside them
        side = []  # beside the title: no row of their own (853x480 fits)
        if self.text_settings:
            preset = W.Button(
                description="as in the text above",
                tooltip="the settings the lesson's text uses: its numbers (slower to compute)",
                layout=W.Layout(width="auto", flex="0 0 auto"),
            )
            preset.on_click(lambda _: self.use_text_settings())
            side.append(preset)
        if _in_voila():  # a link reloads the page: only Voila starts a panel from it
            side.append(self.link)
        if side:
            if len(side) > 1:  # the link under the button
                side = [W.VBox(side, layout=W.Layout(flex="0 0 auto", align_items="flex-end"))]
            head.layout.flex = "1 1 auto"
            head = W.HBox([head, *side], layout=W.Layout(width="100%", align_items="center"))
        controls = W.GridBox(
            shown,
            layout=W.Layout(
                grid_template_columns="repeat(auto-fill, minmax(320px, 1fr))",
                grid_gap="0px 18px",
                width="100%",
            ),
        )
        view = self.view.widget
        # the figure's text alternative: what a screen reader says for the image
        if self.mode == "inline":
            view.tooltip = f"Figure: {self.title}. Its key numbers are in the table below it."
        box = W.VBox(
            [W.HTML(FIT_CSS), head, controls, self.message, view, self.readout],
            layout=W.Layout(width="100%"),
        )
        box.add_class("losskit-panel")
        return box

    def close(self) -> None:
        """Release the panel's resources: its widgets (closed in the kernel and the page),
        its figure (closed in pyplot under ipympl, its artists cleared) and cached results.

        Afterwards the panel no longer refreshes; build a new one to show the lesson again.
        Calling it twice does nothing more.
        """
        if self.closed:
            return
        self.closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        widgets, stack = [], [self.widget]
        while stack:  # the whole tree: the box, its rows, every control and output
            w = stack.pop()
            if isinstance(w, W.Widget) and w not in widgets:
                widgets.append(w)
                stack.extend(getattr(w, "children", ()))
        widgets.extend((*self.controls.values(), self.readout, self.message, self.link))
        for w in list(widgets):  # each widget's Layout and Style are widgets too
            for part in (getattr(w, "layout", None), getattr(w, "style", None)):
                if isinstance(part, W.Widget) and part not in widgets:
                    widgets.append(part)
        for w in widgets:
            w.close()
        figure = self.figure
        _detach_tickers(figure)
        if self.mode == "ipympl":
            import matplotlib.pyplot as plt

            plt.close(figure)
        figure.clear()
        # the Agg canvas keeps its renderer (the pixel buffer: 3-4 MB at the panels' size)
        # for the next draw; there is none
        figure.canvas.__dict__.pop("renderer", None)
        self._cache.clear()
        self.result = None
        self.view = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _on_change(self, change):
        """Refresh for a control change; inside an event loop, throttled (latest value wins).

        While dragging, changes arrive faster than a refresh: at most one refresh
        is scheduled, no sooner than ``debounce`` seconds after the last one
        ended, and it reads the controls' values when it runs, so intermediate
        values are skipped, never queued.
        """
        if self._updating:
            return
        self._state_note = None  # the student moved on from the link's settings
        loop = _running_loop() if self.debounce > 0 else None
        if loop is None:
            self.refresh()
            return
        if self._pending is not None:
            return  # the scheduled refresh will read this value
        wait = max(0.0, self._last_refresh + self.debounce - time.monotonic())
        self._pending = loop.call_later(wait, self._deferred_refresh)

    def _deferred_refresh(self):
        self._pending = None
        self.refresh()

    def _notes(self) -> list:
        """Notes about how the panel started, shown until a control changes (the state's)."""
        return [self._startup_note, self._state_note]

    def _show(self, messages):
        messages = [m for m in dict.fromkeys(messages) if m]
        self.error = " ".join(messages) if messages else None
        self.message.value = "".join(
            f"<div style='{MESSAGE_STYLE}'>&#9888; {html.escape(m)}</div>" for m in messages
        )

    def refresh(self) -> bool:
        """Recompute from the controls and update the figure and readout.

        Returns ``True`` when the figure shows the new values, ``False`` when the
        experiment rejected them (its message is shown; the figure keeps the
        last valid result, the readout says it has no numbers) or something
        failed inside the panel (shown as an internal error, the traceback kept
        in ``last_traceback`` and logged).
        Only the experiment's own ``ValueError``/``TypeError``/``FloatingPointError``
        count as messages for the student: the same errors raised while drawing
        are the panel's bugs and are reported as internal errors.
        """
        try:
            self.updated = self._refresh()
        finally:
            self._last_refresh = time.monotonic()
        return self.updated

    def _unselected(self) -> str | None:
        """The one-line message for a selection control set to None (nothing selected)."""
        for name, control in self.controls.items():
            options = getattr(control, "options", None)
            if control.value is None and options is not None and None not in options:
                index = getattr(control, "index", None)
                if isinstance(index, int):  # ipywidgets refused None but kept it as value
                    self._updating = True  # while the slider still shows options[index]
                    try:
                        control.value = _option_values(options)[index]
                    finally:
                        self._updating = False
                    continue
                labels = [o[0] if isinstance(o, tuple) and len(o) == 2 else o for o in options]
                shown = ", ".join(map(str, labels[:8])) + (", ..." if len(labels) > 8 else "")
                label = getattr(control, "description", "") or name
                return f"No {label} is selected: choose one of {shown}."
        return None

    def _refresh(self) -> bool:
        if self.closed:
            return False
        unselected = self._unselected()
        if unselected is not None:
            self._show([*self._notes(), unselected])
            self.readout.value = NO_READOUT
            return False
        self._updating = True
        try:
            adjusted = list(self.sync_controls())
            values = self.values()
            backend = values.pop("backend")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = self.compute(values, backend)
                except EXPECTED_ERRORS as exc:
                    self._show([*self._notes(), *adjusted, str(exc) or type(exc).__name__])
                    self.readout.value = NO_READOUT
                    return False
                self.draw(result)
                notes = list(self.notes(result))
                rows = self.readout_rows(result)
                self._render()
            if not notes:  # a divergence note already tells what the overflow warnings would
                notes = _warning_notes(caught)
        except Exception as exc:  # a widget never shows a traceback; the log keeps it
            self.last_traceback = traceback.format_exc()
            log.exception("%s: unexpected error", type(self).__name__)
            self._show([*self._notes(), f"internal error ({type(exc).__name__}): {exc}"])
            self.readout.value = NO_READOUT
            return False
        finally:
            self._updating = False
        self.result = result
        self.readout.value = _table(rows)
        self.link.value = self._link_html()
        self._show([*self._notes(), *adjusted, *notes])
        return True

    def _render(self):
        """Publish the updated figure through the view (all of it, or the parts
        :meth:`redraw_only` named)."""
        parts, self._parts = self._parts, None
        self.view.show(parts)

    # ----- display ----------------------------------------------------------------------
    def _claim_cell(self) -> None:
        """Close the panel of this class the running cell showed before (a re-run cell)."""
        cell = _cell_id()
        if cell is None:
            return
        key = (cell, type(self).__name__)
        previous = _SHOWN.get(key)
        previous = previous() if previous is not None else None
        if previous is not None and previous is not self:
            previous.close()
        _SHOWN[key] = weakref.ref(self)

    def _repr_mimebundle_(self, **kwargs):
        self._claim_cell()
        return self.widget._repr_mimebundle_(**kwargs)

    def display(self):
        """Show the panel in the current notebook cell (closing the one it showed before)."""
        from IPython.display import display

        self._claim_cell()
        display(self.widget)

    def __repr__(self) -> str:
        state = f"error={self.error!r}" if self.error else "ok"
        return f"<{type(self).__name__} {self.values()} {state}>"
