"""Grading helper: is a graded function the student's own work?

The assignments ask you to implement losses and training steps yourself, with
NumPy. A graded function that hands the work to one of these libraries scores 0
for that test cell:

    losskit, SciPy (``scipy``, e.g. ``scipy.special``), scikit-learn (``sklearn``),
    PyTorch (``torch``), JAX (``jax``)

NumPy itself (and Python's standard library) is allowed. Hidden tests call your
function through ``call_own_work``, which fails when

* the function's code (nested functions and lambdas included), or the code of
  any function of your notebook that it refers to, refers to one of those
  libraries' modules, or to a function, class or ufunc defined in one of them,
  through a global name, a closure variable or an ``import`` inside the
  function; or
* running the function executes Python code from one of those packages, or
  calls one of their built-in (C) functions (caught with ``sys.setprofile``,
  so indirect calls through your own helpers count too).

This file is released with every assignment and replaced by the instructor's
copy when your submission is graded (nbgrader overwrites non-notebook files
from the source folder). The canonical copy is ``assignments/own_work.py``; in
the repository each ``source/<assignment>/own_work.py`` is a relative symlink
to it, made by ``assignments/build_notebooks.py`` (a plain copy where the file
system cannot make symlinks). nbgrader copies it with ``shutil.copy``, which
follows the link, so the release, the exchange and the grading folders always
hold this file's text, never a link.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

LIBRARIES = ("losskit", "scipy", "sklearn", "torch", "jax")

__all__ = ["LIBRARIES", "call_own_work", "library_references"]


def _library_of(name: object) -> str | None:
    """The library a dotted module name belongs to, or None."""
    if not isinstance(name, str):
        return None
    top = name.split(".", 1)[0]
    return top if top in LIBRARIES else None


def _package_roots() -> tuple[str, ...]:
    """Folders of the libraries that are installed (found without importing them)."""
    roots = []
    for lib in LIBRARIES:
        try:
            spec = importlib.util.find_spec(lib)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if spec.origin and spec.origin not in ("built-in", "frozen", "namespace"):
            roots.append(os.path.dirname(os.path.abspath(spec.origin)) + os.sep)
        for location in spec.submodule_search_locations or ():
            roots.append(os.path.abspath(location) + os.sep)
    return tuple(sorted(set(roots)))


def _found_in_library_modules(obj) -> str | None:
    """Where an object without ``__module__`` (e.g. a SciPy ufunc) lives among the libraries."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and any(obj is v for v in vars(numpy).values()):
        return None  # NumPy's own (re-exported by SciPy, still NumPy)
    for modname, module in list(sys.modules.items()):
        lib = _library_of(modname)
        if lib is None or module is None:
            continue
        try:
            if any(obj is v for v in vars(module).values()):
                return lib
        except TypeError:
            continue
    return None


def _object_library(obj) -> str | None:
    if isinstance(obj, types.ModuleType):
        return _library_of(obj.__name__)
    module = getattr(obj, "__module__", None)
    if isinstance(module, str):
        return _library_of(module)
    if callable(obj):
        return _found_in_library_modules(obj)
    return None


def library_references(fn) -> list[str]:
    """How ``fn``'s code (or its helpers' code) reaches a library: ``lib: name`` (or [])."""
    found: set[str] = set()
    todo, seen = [(fn, "")], set()
    home = getattr(fn, "__module__", None)
    while todo:
        f, where = todo.pop()
        code = getattr(f, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        names: set[str] = set()
        stack = [code]
        while stack:
            c = stack.pop()
            names.update(c.co_names)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        found.update(f"{_library_of(n)}: {n}{where}" for n in names if _library_of(n))
        scope = getattr(f, "__globals__", {})
        candidates = [(n, scope[n]) for n in names if n in scope]
        for var, cell in zip(code.co_freevars, getattr(f, "__closure__", None) or (), strict=False):
            try:
                candidates.append((var, cell.cell_contents))
            except ValueError:  # an empty closure cell
                pass
        for name, obj in candidates:
            lib = _object_library(obj)
            if lib:
                found.add(f"{lib}: {name}{where}")
            elif isinstance(obj, types.FunctionType) and obj.__module__ == home:
                # a helper written in the same notebook: look inside it too
                todo.append((obj, f" in {obj.__name__}"))
    return sorted(found)


def _message(label: str, how: str) -> str:
    return (
        f"{label} {how}. This exercise asks for your own implementation with NumPy; a "
        "graded function that calls a library's version (losskit, SciPy, scikit-learn, "
        "PyTorch or JAX) scores 0 for this test."
    )


def call_own_work(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)``; raise AssertionError if a library does the work."""
    label = getattr(fn, "__name__", repr(fn))
    refs = library_references(fn)
    if refs:
        raise AssertionError(_message(label, f"uses a library ({', '.join(refs)})"))
    roots = _package_roots()
    reached: list[str] = []

    def profiler(frame, event, arg):
        if event == "call":
            if roots and frame.f_code.co_filename.startswith(roots):
                module = frame.f_globals.get("__name__", frame.f_code.co_filename)
                reached.append(f"{frame.f_code.co_name} in {module}")
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            if module is None:  # a method of a built-in type: judge by its object's type
                module = type(getattr(arg, "__self__", None)).__module__
            if _library_of(module):
                reached.append(f"{getattr(arg, '__name__', arg)} in {module}")

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    if reached:
        raise AssertionError(_message(label, f"ran library code ({reached[0]})"))
    return result
