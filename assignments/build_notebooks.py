"""Build the nbgrader source notebooks from their diff-able jupytext twins.

Each assignment is written as a jupytext py:percent file,
``source/<assignment>/<assignment>.pct.py``, whose ``# %%`` cell headers carry
the nbgrader cell metadata. nbgrader reads ``.ipynb`` files, so this script
writes ``source/<assignment>/<assignment>.ipynb`` from it, deterministically
(no outputs, no execution counts, cell ids taken from the nbgrader grade ids).
The ``.ipynb`` is committed; ``--check`` fails when it is stale, and the test
suite runs the same check.

    python assignments/build_notebooks.py          # rewrite the .ipynb files
    python assignments/build_notebooks.py --check  # exit 1 if anything is stale

Edit the ``.pct.py`` file, never the ``.ipynb``: the build overwrites it. The
nbgrader config ignores ``*.pct.py`` (and ``variants.py``) so the twin, which
holds the solutions and hidden tests, is never released to students.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

COURSE = Path(__file__).resolve().parent
SOURCE = COURSE / "source"
TWIN_SUFFIX = ".pct.py"


def twins() -> list[Path]:
    """Every ``source/<assignment>/<assignment>.pct.py``, sorted."""
    return sorted(SOURCE.glob(f"*/*{TWIN_SUFFIX}"))


def notebook_path(twin: Path) -> Path:
    return twin.with_name(twin.name[: -len(TWIN_SUFFIX)] + ".ipynb")


def build_notebook(twin: Path) -> str:
    """The ``.ipynb`` text for one py:percent twin (deterministic)."""
    nb = jupytext.read(twin, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata["language_info"] = {"name": "python"}
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id or f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nbformat.writes(nb, version=4) + "\n"


def stale() -> list[Path]:
    """Generated files that differ from what the build would write."""
    out = []
    for twin in twins():
        nb_path = notebook_path(twin)
        if not nb_path.exists() or nb_path.read_text() != build_notebook(twin):
            out.append(nb_path)
    return out


def build() -> list[Path]:
    written = []
    for path in stale():
        path.write_text(build_notebook(path.with_name(path.stem + TWIN_SUFFIX)))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if any output is stale")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for path in bad:
            print(f"stale: {path.relative_to(COURSE)} (run python assignments/build_notebooks.py)")
        return 1 if bad else 0
    for path in build():
        print(f"wrote {path.relative_to(COURSE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
