"""Build the nbgrader source notebooks from their diff-able jupytext twins.

Each assignment is written as a jupytext py:percent file,
``source/<assignment>/<assignment>.pct.py``, whose ``# %%`` cell headers carry
the nbgrader cell metadata. nbgrader reads ``.ipynb`` files, so this script
writes ``source/<assignment>/<assignment>.ipynb`` from it, deterministically
(no outputs, no execution counts, cell ids taken from the nbgrader grade ids),
and links ``own_work.py`` (the own-work check the hidden tests import) next to
each notebook as a relative symlink to ``assignments/own_work.py``: one file to
edit. nbgrader copies the other files of a source folder with ``shutil.copy``,
which follows symlinks, so ``generate_assignment``, the exchange and
``autograde`` all hand out the file's text, never a link. Both outputs are
committed; ``--check`` fails when they are stale, and the test suite runs the
same check.

On a checkout without symlinks (Windows with git's ``core.symlinks=false``,
the default there), git writes each link as a small text file holding its
target, ``../../own_work.py``, which would be released as a broken module:
``--check`` reports it as stale, and the build replaces it with a plain copy of
``assignments/own_work.py`` wherever a symlink cannot be made. A plain copy
with the canonical content passes ``--check``; an outdated one does not.

    python assignments/build_notebooks.py          # rewrite the .ipynb files
    python assignments/build_notebooks.py --check  # exit 1 if anything is stale

Edit the ``.pct.py`` file, never the ``.ipynb``: the build overwrites it. The
nbgrader config ignores ``*.pct.py`` so the twin, which holds the solutions and
hidden tests, is never released to students.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat

COURSE = Path(__file__).resolve().parent
SOURCE = COURSE / "source"
OWN_WORK = COURSE / "own_work.py"
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
        own = twin.parent / OWN_WORK.name
        if not own_work_is_current(own):
            out.append(own)
    return out


def own_work_is_current(path: Path) -> bool:
    """A symlink to the canonical own_work.py, or (no symlinks here) a copy of its text."""
    if path.is_symlink():
        return path.resolve() == OWN_WORK.resolve()
    return path.is_file() and path.read_bytes() == OWN_WORK.read_bytes()


def link_own_work(path: Path) -> None:
    """``path`` -> a relative symlink to the canonical file, or a copy where links fail."""
    path.unlink(missing_ok=True)
    try:
        path.symlink_to(os.path.relpath(OWN_WORK, path.parent))
    except OSError:  # e.g. Windows without developer mode
        shutil.copyfile(OWN_WORK, path)


def build() -> list[Path]:
    written = []
    for path in stale():
        if path.name == OWN_WORK.name:
            link_own_work(path)
        else:
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
