"""Test-side access to the course tools in ``assignments/course_tools.py``.

The course folder is not a package (nbgrader treats it as a course root), so
the tests import its tools by path (``course_tools`` puts the folder on
``sys.path``, which makes its ``grading`` package importable too).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ASSIGNMENTS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


course_tools = _load("course_tools")
build_notebooks = _load("build_notebooks")
tampering = _load("tampering")

import grading.checker_side  # noqa: E402  (importable once course_tools is loaded)
import grading.execute  # noqa: E402
import grading.report  # noqa: E402
import grading.sandbox  # noqa: E402
import grading.wire  # noqa: E402, F401
