"""An Agg canvas that keeps rendered text bitmaps between draws, for live panels.

A panel redraws the same titles, axis labels, legend entries and most tick
labels after every slider move, and matplotlib lays out and rasterises each
string glyph by glyph every time: about half of a panel's redraw. This canvas
renders each distinct (string, font, size, angle, dpi) once into a bitmap with
FreeType (the way matplotlib's Agg backend did it up to 3.9: the whole string
at once, placed on whole pixels) and blends the stored bitmap on later draws.

Used for live panels (``new_figure(fast_text=True)``, ipympl canvases through
:func:`install_text_cache`); slide figures keep matplotlib's own text rendering.

Public matplotlib API throughout (``font_manager.findfont``/``get_font``, FT2Font's
``set_text``/``draw_glyphs_to_bitmap``), except one documented shim,
:func:`_blend_text_bitmap`: Agg's C++ renderer ``RendererAgg._renderer.draw_text_image``,
the call matplotlib's own ``draw_text`` ends in. :func:`shim_problems` says what is
missing when matplotlib changes it; ``tests/test_plots.py`` fails loudly on it, and at
run time text falls back to matplotlib's renderer (the normal speed, same look).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag

__all__ = ["CachedTextCanvasAgg", "install_text_cache", "shim_problems"]

_MAX_ENTRIES = 4096
_NEEDED = ("set_text", "draw_glyphs_to_bitmap", "get_image", "get_bitmap_offset", "get_descent")


class _BitmapCache:
    """Least-recently-used store of rendered strings: key -> (bitmap, x offset, y offset)."""

    def __init__(self, size=_MAX_ENTRIES):
        self.size = size
        self.items = OrderedDict()

    def get(self, key):
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
        return hit

    def put(self, key, value):
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)


_CACHE = _BitmapCache()


def _rasterise(renderer, s, prop, antialiased):
    """The string ``s`` as one grey bitmap plus where its corner sits from the baseline."""
    font = font_manager.get_font(font_manager.findfont(prop))
    font.clear()
    font.set_size(prop.get_size_in_points(), renderer.dpi)
    font.set_text(s, 0.0, flags=get_hinting_flag())
    font.draw_glyphs_to_bitmap(antialiased=antialiased)
    left, top = (v / 64.0 for v in font.get_bitmap_offset())
    descent = font.get_descent() / 64.0
    return np.array(font.get_image(), dtype=np.uint8), left, top, descent


def _cached_draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
    """``RendererAgg.draw_text`` with the string's bitmap looked up instead of re-rendered."""
    if ismath or not s:
        return RendererAgg.draw_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
    antialiased = bool(gc.get_antialiased())
    key = (s, hash(prop), self.dpi, antialiased, get_hinting_flag())
    hit = _CACHE.get(key)
    if hit is None:
        hit = _rasterise(self, s, prop, antialiased)
        _CACHE.put(key, hit)
    bitmap, left, top, descent = hit
    # the bitmap is rotated in raster space; its descent moves with the angle
    rad = math.radians(angle)
    px = round(x + left + descent * math.sin(rad))
    py = round(y + top + descent * math.cos(rad))
    _blend_text_bitmap(self, bitmap, px, py + 1, angle, gc)
    return None


# ----- the matplotlib shim: the one private name this module uses --------------------------
def _blend_text_bitmap(renderer, bitmap, x, y, angle, gc) -> None:
    """Blend a grey text bitmap into the Agg buffer at pixel ``(x, y)`` (top left, y down),
    rotated by ``angle`` degrees, in ``gc``'s colour: what ``RendererAgg.draw_text`` does
    after laying out glyphs (``RendererAgg._renderer.draw_text_image``, matplotlib 3.x)."""
    renderer._renderer.draw_text_image(bitmap, x, y, angle, gc)


def shim_problems() -> list[str]:
    """What the text cache needs from matplotlib and this version lacks (``[]``: all there)."""
    from matplotlib.figure import Figure
    from matplotlib.ft2font import FT2Font

    missing = [f"FT2Font.{name}" for name in _NEEDED if not hasattr(FT2Font, name)]
    renderer = FigureCanvasAgg(Figure(figsize=(1, 1), dpi=10)).get_renderer()
    inner = getattr(renderer, "_renderer", None)
    if not hasattr(inner, "draw_text_image"):
        missing.append("RendererAgg._renderer.draw_text_image")
    return missing


_SUPPORTED = not shim_problems()


def _with_cache(renderer):
    if _SUPPORTED and isinstance(renderer, RendererAgg) and "draw_text" not in vars(renderer):
        renderer.draw_text = _cached_draw_text.__get__(renderer)
    return renderer


class CachedTextCanvasAgg(FigureCanvasAgg):
    """``FigureCanvasAgg`` whose renderer reuses text bitmaps across draws."""

    def get_renderer(self, *args, **kwargs):
        return _with_cache(super().get_renderer(*args, **kwargs))


def install_text_cache(canvas) -> None:
    """Give an existing Agg-based canvas (ipympl's, say) the text-bitmap cache."""
    original = canvas.get_renderer

    def get_renderer(*args, **kwargs):
        return _with_cache(original(*args, **kwargs))

    canvas.get_renderer = get_renderer
