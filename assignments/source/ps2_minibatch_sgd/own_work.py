"""Grading helper: is a graded function the student's own work?

The assignments ask you to implement losses and training steps yourself, with
NumPy. A graded function that hands the work to losskit's implementation of the
same thing scores 0 for that test cell. Hidden tests call your function through
``call_own_work``, which fails when

* the function's code (nested functions and lambdas included) refers to a
  losskit module, or to a function or class defined in losskit, through a
  global name, a closure variable or an ``import`` inside the function; or
* running the function executes any code from the losskit package (caught with
  ``sys.setprofile``, so indirect calls through your own helpers count too).

This file is released with every assignment and replaced by the instructor's
copy when your submission is graded (nbgrader overwrites non-notebook files
from the source folder). The canonical copy is ``assignments/own_work.py``;
``assignments/build_notebooks.py`` copies it into each ``source/<assignment>/``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

PACKAGE = "losskit"

__all__ = ["PACKAGE", "call_own_work", "losskit_references"]


def _is_package_name(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _package_root() -> str | None:
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(os.path.abspath(spec.origin)) + os.sep


def losskit_references(fn) -> list[str]:
    """Names through which ``fn``'s code reaches losskit (empty when it does not)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    found = {n for n in names if _is_package_name(n)}  # `import losskit` in the body
    scope = getattr(fn, "__globals__", {})
    candidates = [(n, scope[n]) for n in names if n in scope]
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=False):
        try:
            candidates.append((var, cell.cell_contents))
        except ValueError:  # an empty closure cell
            pass
    for name, obj in candidates:
        if isinstance(obj, types.ModuleType):
            module = obj.__name__
        else:
            module = getattr(obj, "__module__", None)
        if isinstance(module, str) and _is_package_name(module):
            found.add(name)
    return sorted(found)


def call_own_work(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)``; raise AssertionError if the work is done by losskit."""
    label = getattr(fn, "__name__", repr(fn))
    refs = losskit_references(fn)
    if refs:
        raise AssertionError(
            f"{label} uses losskit ({', '.join(refs)}). This exercise asks for your own "
            "implementation with NumPy; a graded function that calls losskit's version "
            "scores 0 for this test."
        )
    root = _package_root()
    reached: list[str] = []

    def profiler(frame, event, arg):
        if event == "call" and root and frame.f_code.co_filename.startswith(root):
            reached.append(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    if reached:
        raise AssertionError(
            f"{label} ran losskit code ({reached[0]} in the losskit package). This "
            "exercise asks for your own implementation with NumPy; a graded function "
            "that calls losskit's version scores 0 for this test."
        )
    return result
