"""Issue 15 item 5: panels own their resources and answer every value a control accepts.

- ``panel.close()`` closes every widget of the panel (controls, their Layout and Style,
  the readout, the figure's view) and releases its figure (cleared; closed in pyplot
  under ipympl); building and closing panels over and over grows RSS by a bounded amount
  and leaves no Figure alive;
- ``None`` in a control that takes it (a dropdown, toggle buttons; a selection slider
  that refuses it but keeps it as its value) gives the panel's one-line message;
- out-of-range constructor values raise instead of being clamped by the slider;
- a soak test: random control updates (with Nones) on every panel, asserting no
  internal error, bounded memory growth and no open figure left behind.

Panels are built as in tests/test_widgets.py (inline, NumPy, ``debounce=0``).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import subprocess
import sys

import ipywidgets as W
import matplotlib._pylab_helpers
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from matplotlib.figure import Figure
from test_widgets import make

from losskit.lessons import PANELS
from losskit.widgets import BatchVsDatasetPanel, LSEOverflowPanel, random_value

NAMES = list(PANELS)


try:
    _LIBC = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 (glibc only)
except (OSError, AttributeError):
    _LIBC = None


def rss_mb() -> float:
    """Resident set size now, in MiB (/proc/self/statm; ru_maxrss, the peak, elsewhere).

    Collects garbage and, on glibc, hands the allocator's free pages back first
    (malloc_trim): what a leak holds, not what malloc happens to keep cached, which
    swings by 20 MiB and more between two readings of the same live memory.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def live_figures() -> int:
    gc.collect()
    return sum(isinstance(o, Figure) for o in gc.get_objects())


def open_pyplot_figures() -> int:
    return len(matplotlib._pylab_helpers.Gcf.figs)


def panel_widgets(p) -> list:
    found, stack = [], [p.widget, *p.controls.values(), p.readout, p.message]
    while stack:
        w = stack.pop()
        if isinstance(w, W.Widget) and all(w is not x for x in found):
            found.append(w)
            stack.extend(getattr(w, "children", ()))
            stack.extend(getattr(w, name, None) for name in ("layout", "style"))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_close_releases_widgets_and_figure(name):
    p = make(PANELS[name])
    widgets = panel_widgets(p)
    ids = [w.model_id for w in widgets]
    assert all(i in _instances for i in ids)
    figure = p.figure
    p.close()
    assert p.closed and not any(i in _instances for i in ids)
    assert all(w.comm is None for w in widgets)
    assert figure.axes == [] and figure.subfigs == []
    assert p.result is None and p.view is None
    p.close()  # twice: nothing more
    assert p.refresh() is False  # a closed panel no longer computes


def test_close_as_a_context_manager():
    with make(LSEOverflowPanel) as p:
        assert p.error is None
    assert p.closed and p.widget.comm is None


def test_close_in_ipympl_mode_closes_the_pyplot_figure():
    pytest.importorskip("ipympl")
    import matplotlib.pyplot as plt

    plt.switch_backend("module://ipympl.backend_nbagg")
    try:
        before = open_pyplot_figures()
        panels = [LSEOverflowPanel(backend="numpy", debounce=0) for _ in range(3)]
        assert open_pyplot_figures() == before + 3
        canvases = [p.figure.canvas for p in panels]
        for p in panels:
            p.close()
        assert open_pyplot_figures() == before
        assert all(c.comm is None for c in canvases)  # ipympl's canvas widget closed too
    finally:
        plt.switch_backend("agg")  # the suite's headless backend (get_backend() may pick ipympl)


def _build_and_close(names, n, warmup=2):
    for _ in range(warmup):  # imports, font and text caches, first experiment runs
        for name in names:
            make(PANELS[name]).close()
    widgets, figures, rss = len(_instances), live_figures(), rss_mb()
    for _ in range(n):
        for name in names:
            make(PANELS[name]).close()
    gc.collect()
    return len(_instances) - widgets, live_figures() - figures, rss_mb() - rss


def _build_and_close_in_a_fresh_process(names, n):
    """``_build_and_close`` in a new interpreter, as a student's kernel is: RSS measured
    in the suite's own process also counts what earlier tests left in its allocator."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import test_panel_resources as t; "
        "print(json.dumps(t._build_and_close(json.loads(sys.argv[2]), int(sys.argv[3]))))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "MPLBACKEND": "agg"}
    out = subprocess.run(
        [sys.executable, "-c", code, here, json.dumps(names), str(n)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", NAMES)
def test_closed_panels_leave_no_figure_alive(name):
    widgets, figures, _ = _build_and_close([name], 3)
    assert widgets == 0, f"{widgets} widgets left open"
    assert figures == 0, f"{figures} Figures alive after 3 panels built and closed"


def test_build_and_close_every_panel_a_few_times():
    widgets, _, _ = _build_and_close(NAMES, 2)
    assert widgets == 0, f"{widgets} widgets left open"
    assert open_pyplot_figures() == 0
    widgets, figures, growth = _build_and_close_in_a_fresh_process(NAMES, 3)
    assert widgets == 0 and figures == 0
    assert growth < 20, f"RSS grew {growth:.1f} MiB"


def test_build_and_close_panels_100_times():
    """Issue 15: building and dropping a panel 100 times grows RSS < 20 MiB, leaves no
    Figure: 13 rounds of the 8 panels (104 panels, ~40 s)."""
    rounds = -(-100 // len(NAMES))
    widgets, figures, growth = _build_and_close_in_a_fresh_process(NAMES, rounds)
    assert widgets == 0, f"{widgets} widgets left open"
    assert figures == 0, f"{figures} Figures alive"
    assert growth < 20, f"RSS grew {growth:.1f} MiB over {rounds * len(NAMES)} panels"


@pytest.mark.parametrize("name", NAMES)
def test_none_in_any_control_is_the_panels_message(name):
    p = make(PANELS[name])
    for cname, control in p.controls.items():
        old = control.value
        try:
            control.value = None
        except Exception:  # noqa: BLE001 (traitlets refused None: the panel must still answer)
            pass
        p.refresh()
        assert p.last_traceback is None, (cname, p.last_traceback)
        assert p.error is None or ("internal error" not in p.error and "\n" not in p.error)
        if control.value is None:
            assert p.error and p.error.startswith("No "), (cname, p.error)
            assert "No numbers" in p.readout.value
        control.value = old
        assert p.refresh() is True and p.error is None, (cname, p.error)
    p.close()


@pytest.mark.parametrize(
    ("values", "exc", "match"),
    [
        ({"epochs": 99}, ValueError, r"epochs=99 is outside the control's range 1\.\.12"),
        ({"epochs": 0}, ValueError, "epochs=0 is outside"),
        ({"epochs": "a"}, TypeError, "epochs must be an int"),
        ({"lr": 10.0}, ValueError, "lr=10.0 is outside"),
        ({"lr": float("nan")}, ValueError, "lr=nan is outside"),
        ({"batch_size": 33}, ValueError, "batch_size=33 is not one of the control's choices"),
        ({"batch_size": None}, ValueError, "batch_size=None is not one of"),
        ({"backend_name": 1}, TypeError, "unknown control"),
    ],
)
def test_out_of_range_constructor_values_raise(values, exc, match):
    with pytest.raises(exc, match=match):
        make(BatchVsDatasetPanel, **values)


def test_in_range_constructor_values_are_kept():
    p = make(BatchVsDatasetPanel, epochs=5, batch_size=64, lr=0.01)
    assert p.controls["epochs"].value == 5 and p.controls["batch_size"].value == 64
    assert p.controls["lr"].value == pytest.approx(0.01)
    p.close()


def _soak(updates_per_panel, seed):
    rng = np.random.default_rng(seed)
    make(PANELS[NAMES[0]]).close()  # warm-up
    figures, rss, changes = live_figures(), rss_mb(), 0
    for name in NAMES:
        p = make(PANELS[name])
        names = [k for k in p.controls if k != "backend"]
        for _ in range(updates_per_panel):
            control = p.controls[names[int(rng.integers(len(names)))]]
            value = None if rng.random() < 0.05 else random_value(control, rng)
            try:
                control.value = value
            except Exception:  # noqa: BLE001, S112 (a value the control itself refuses)
                continue
            changes += 1
            assert p.last_traceback is None, (name, p.last_traceback)
            assert p.error is None or "internal error" not in p.error, (name, p.error)
        p.close()
        del p
        assert open_pyplot_figures() == 0
        assert live_figures() == figures, name  # whatever the updates, none kept
    growth = rss_mb() - rss
    return changes, growth


def test_soak_every_panel_1000_updates():
    """125 seeded updates per panel, 1,000 in all (about 12 s alone on 2 cores)."""
    changes, growth = _soak(125, seed=4)
    assert changes > 600
    assert growth < 60, f"RSS grew {growth:.1f} MiB"


def test_a_rerun_cell_closes_the_panel_it_showed_before():
    """Issue 15 item 5: running a lesson's panel cell again (JupyterLab and nbclient send
    the cell's id with each execution) closes the panel that cell showed; a panel shown
    by another cell stays. Counted in a real kernel: ipywidgets' registry and live Figures."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")

    def run(code, cell):
        msg = kc.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },  # fmt: skip
            metadata={"cellId": cell},
        )
        kc.shell_channel.send(msg)
        while True:
            reply = kc.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                assert reply["content"]["status"] == "ok", reply["content"]
                return

    def count():
        out = []
        kc.execute_interactive(
            "import gc; from matplotlib.figure import Figure; "
            "from ipywidgets.widgets.widget import _instances; gc.collect(); "
            "print(len(_instances), sum(isinstance(o, Figure) for o in gc.get_objects()))",
            output_hook=lambda m: (
                out.append(m["content"]["text"])
                if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
                else None
            ),
            timeout=120,
        )
        widgets, figures = "".join(out).split()[-2:]
        return int(widgets), int(figures)

    show = "from losskit.widgets import LSEOverflowPanel\n" + (
        "p = LSEOverflowPanel(backend='numpy', debounce=0)\ndisplay(p)"
    )
    try:
        run(show, "cell-a")
        run(show, "cell-b")  # another cell's panel: kept
        first = count()
        for _ in range(3):
            run(show, "cell-a")
        assert count() == first, "re-running the cell left the earlier panels alive"
        run("p.close()", "cell-c")
        run(show, "cell-b")  # the panel cell-b showed before is closed too
        widgets, figures = count()
        assert widgets < first[0] and figures < first[1]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
