"""How a panel's figure reaches the page: a PNG in an Image widget, or ipympl's live canvas.

A panel picks its view once (:func:`make_view`) and then only calls
:meth:`View.show`; neither the panel nor the lessons branch on the mode. Both
views fill the output area's width and follow it (CSS: the image or the canvas
is scaled to 100 % of the cell, aspect kept), so no figure is cut off in a
narrow cell or a Voila page with the sidebar open.

Both keep the figure's margins fixed between updates: constrained layout (as
costly as a draw) runs only when the y tick labels outgrow the margins it made,
or shrink a lot. A panel of two experiments may repaint only the SubFigures
whose result changed (``parts``).
"""

from __future__ import annotations

import struct
import zlib
from abc import ABC, abstractmethod

import ipywidgets as W
import matplotlib
import numpy as np
from matplotlib.layout_engine import ConstrainedLayoutEngine

from ..plots import install_text_cache, new_figure

__all__ = ["CanvasView", "ImageView", "View", "make_view", "png_bytes"]

#: Figure height as a share of the window's: the controls above and the readout's first
#: rows below stay on screen with it (1366x768 with a sidebar; 1920x1080). In a window
#: at most SHORT_WINDOW_PX high (1280x720 at 150 % zoom is 853x480 CSS px) the controls
#: take a larger share, so the figure gets SHORT_FIGURE_VH (tests/test_browser_layout.py).
MAX_FIGURE_VH = 52
SHORT_WINDOW_PX = 600
SHORT_FIGURE_VH = 42

#: CSS that fits the figure (image, or ipympl's canvas, whose element sizes ipympl sets in
#: pixels, inline) to the output area: at most its width and MAX_FIGURE_VH of the window's
#: height, aspect kept, never larger than drawn. Scoped to losskit panels.
FIT_CSS = (
    "<style>"
    ".losskit-panel .jupyter-matplotlib,.losskit-panel .jupyter-matplotlib-figure,"
    ".losskit-panel .jupyter-matplotlib-canvas-div{width:auto!important;height:auto!important;"
    "max-width:100%!important}"
    # ipympl stacks its two canvases absolutely: the drawing one goes back into the flow
    # (the div takes its scaled height), the mouse-event one stays on top of it
    ".losskit-panel .jupyter-matplotlib-canvas-div canvas:first-child{position:relative!important}"
    ".losskit-panel .jupyter-matplotlib-canvas-div canvas,.losskit-panel img.losskit-figure{"
    f"width:auto!important;height:auto!important;max-width:100%!important;"
    f"max-height:{MAX_FIGURE_VH}vh!important;object-fit:contain}}"
    f"@media (max-height:{SHORT_WINDOW_PX}px){{"
    ".losskit-panel .jupyter-matplotlib-canvas-div canvas,.losskit-panel img.losskit-figure{"
    f"max-height:{SHORT_FIGURE_VH}vh!important}}}}"
    "</style>"
)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(rgb) -> bytes:
    """An ``(H, W, 3)`` uint8 image as PNG bytes: unfiltered rows, zlib level 1.

    Half the time of Pillow's encoder at ``compress_level=1`` on a panel frame
    (mostly flat white), and no larger. RGB only: the figures are opaque.
    """
    h, w, _ = rgb.shape
    rows = np.zeros((h, 3 * w + 1), dtype=np.uint8)  # each row: filter byte 0 (none), pixels
    rows[:, 1:] = rgb.reshape(h, 3 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


class View(ABC):
    """One figure and the widget that shows it; :meth:`show` publishes the latest frame.

    Attributes: ``figure`` (matplotlib Figure), ``widget`` (what the panel puts
    in its layout), ``mode`` (``"inline"`` or ``"ipympl"``), ``laid_out_for``
    (widest y tick label per axes at the last layout, ``None`` before it).
    """

    mode = ""

    def __init__(self, figure, widget):
        self.figure = figure
        self.widget = widget
        self.laid_out_for = None
        self.whole_on = None  # the renderer the last whole-figure draw painted
        self.alt = ""  # text alternative of the figure (set by the panel after each update)

    def label_widths(self) -> list:
        """Widest y tick label (characters) per axes: what the left margins depend on.

        Read from the ticks the last draw labelled, without ``get_ticklabels()``:
        that recomputes the ticks and marks the figure stale (with ipympl in
        interactive mode, a stale figure asks for another draw: a loop).
        """
        widths = []
        for ax in self.figure.get_axes():
            axis = ax.yaxis
            lo, hi = sorted(axis.get_view_interval())
            locs = axis.get_majorticklocs()
            labels = [
                len(tick.label1.get_text())
                for tick, loc in zip(axis.majorTicks, locs, strict=False)
                if lo <= loc <= hi
            ]
            widths.append(max(labels, default=0))
        return widths

    def needs_layout(self, widths) -> bool:
        laid = self.laid_out_for
        return (
            laid is None
            or len(laid) != len(widths)
            or any(w > old or w < old - 3 for w, old in zip(widths, laid, strict=True))
        )

    def draw(self, parts=None) -> bool:
        """Render the whole figure, or only the opaque SubFigures ``parts`` over the last frame;
        returns whether it was partial. A renderer the last whole draw did not paint (the
        canvas was resized: Agg starts a blank one) gets the whole figure."""
        canvas = self.figure.canvas
        # Unhinted glyphs render about a third faster and look the same at this size
        with matplotlib.rc_context({"text.hinting": "none"}):
            renderer = canvas.get_renderer() if parts is not None else None
            if parts is None or renderer is not self.whole_on:
                canvas.draw()
                self.whole_on = canvas.get_renderer()
                return False
            for part in parts:
                part.draw(renderer)
            return True

    def draw_laid_out(self, parts=None) -> bool:
        """Draw (partially when the margins are settled); re-lay out when labels outgrew them.

        Returns whether the frame is a partial repaint.
        """
        fig = self.figure
        # errstate: matplotlib's log locator may overflow on data near 1e300
        with np.errstate(over="ignore"):
            partial = parts is not None and self.laid_out_for is not None
            partial = self.draw(parts if partial else None)
            if self.needs_layout(self.label_widths()):
                fig.set_layout_engine("constrained")
                self.draw()
                fig.set_layout_engine("none")
                self.laid_out_for = self.label_widths()
                return False
        return partial

    @abstractmethod
    def show(self, parts=None) -> None:
        """Publish the latest frame: the whole figure, or only the SubFigures ``parts``."""


class ImageView(View):
    """The figure rendered on an Agg canvas (text bitmaps cached) into an ``ipywidgets.Image``."""

    mode = "inline"

    def __init__(self, figsize, dpi):
        figure = new_figure(figsize, dpi=dpi, fast_text=True)
        image = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
        image.add_class("losskit-figure")
        super().__init__(figure, image)

    def show(self, parts=None) -> None:
        self.draw_laid_out(parts)
        self.widget.value = png_bytes(np.asarray(self.figure.canvas.buffer_rgba())[..., :3])


class CanvasView(View):
    """ipympl's canvas as the widget (``%matplotlib widget``), scaled to the cell by CSS.

    No toolbar (it covered the right subplot, and zooming a scaled canvas
    misplaces the mouse) and no resize handle: the page scales it. The first
    draw is the front-end's, once it has sized the canvas; later frames are
    drawn and sent by the panel (``draw()``; a partial repaint with ``blit()``).
    """

    mode = "ipympl"

    def __init__(self, figsize, dpi):
        import matplotlib.pyplot as plt

        with plt.ioff():
            figure = plt.figure(figsize=figsize, dpi=dpi, layout="constrained")
        # the panel draws when its result changes; pyplot's auto-draw would draw twice
        figure.stale_callback = None
        canvas = figure.canvas
        install_text_cache(canvas)
        for attr, value in (
            ("header_visible", False),
            ("footer_visible", False),
            ("toolbar_visible", False),
            ("resizable", False),
            ("capture_scroll", False),
        ):
            if hasattr(canvas, attr):
                setattr(canvas, attr, value)
        super().__init__(figure, canvas)
        self.own_draw = False  # True while the panel itself draws
        self.started = False  # whether the front-end has been asked for its first draw
        canvas.mpl_connect("draw_event", self._after_frontend_draw)

    def _after_frontend_draw(self, event):
        """Draws the front-end asks for (first display, resize): keep the margins fixed after
        a constrained-layout draw; ask for one more such draw when labels outgrow them."""
        if self.own_draw:
            return
        fig = self.figure
        widths = self.label_widths()
        if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
            self.laid_out_for = widths  # this draw did the layout: freeze it
            fig.set_layout_engine("none")
        elif self.needs_layout(widths):
            fig.set_layout_engine("constrained")
            fig.canvas.draw_idle()

    def show(self, parts=None) -> None:
        if not self.started:  # the front-end is not there yet: it asks for the first draw
            self.started = True
            self.figure.canvas.draw_idle()
            return
        # Send the frame whole, not as a diff against the last one: ipympl's front-end
        # drops an image that a newer one replaces before it has loaded, and a dropped
        # diff left the canvas half-painted for good (a busy hub, during a drag). A whole
        # frame costs about the same to encode (24 vs 20 ms at 1430x528), and the next
        # one repairs a dropped one. (``_force_full`` is a trait of ipympl's Canvas.)
        self.figure.canvas._force_full = True
        self.own_draw = True
        try:
            if self.draw_laid_out(parts):
                self.figure.canvas.blit()  # send the repainted buffer
        finally:
            self.own_draw = False


def make_view(mode: str, figsize, dpi) -> View:
    """The view for ``mode`` (``"inline"`` or ``"ipympl"``, see :func:`detect_mode`)."""
    if mode == "ipympl":
        return CanvasView(figsize, dpi)
    return ImageView(figsize, dpi)
