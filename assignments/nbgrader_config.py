"""nbgrader 0.9 configuration for the losskit course.

Run nbgrader from this folder (it is the course root): ``cd assignments &&
nbgrader generate_assignment ps1_losses``. On JupyterHub set the exchange root
for your hub (see README.md), e.g. ``c.Exchange.root = "/srv/nbgrader/exchange"``;
the tests pass ``--Exchange.root=<temporary dir>`` instead.

``nbgrader autograde`` grades through ``grading/`` (README.md, "How grading is
protected"): student code in a bubblewrap sandbox, tests in a separate checker
kernel. Without bubblewrap, autograde stops and says what to install; to grade
anyway, unprotected, pass ``--SandboxedExecute.sandbox=none``.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the grading package beside this file
# nbgrader starts `alembic` and `jupyter` by name: find them beside the Python running it,
# so that `.venv/bin/nbgrader ...` works without activating the environment.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grading.execute import SandboxedExecute  # noqa: E402
from grading.intake import (  # noqa: E402
    RestoreCells,
    SafeNotebookExporter,
    missing_notebooks,
)

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# The course: its id names the exchange folders and the hub's formgrader service.
c.CourseDirectory.course_id = "losskit-101"
c.Exchange.path_includes_course = True

# The jupytext twins (*.pct.py) hold solutions and hidden tests, variants.py the
# fixture submissions (solutions and bugs): never release them.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.pct.py",
    "variants.py",
]

# Work submitted after an assignment's due date (set in the Formgrader) scores 0;
# the submission is kept and the Formgrader shows how late it was.
c.LateSubmissionPlugin.penalty_method = "zero"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Sanitizing: nbgrader's steps, plus one that keeps a duplicated, renamed or
# deleted cell from failing the whole submission, and puts deleted cells back
# (grading/intake.py, RestoreCells; it replaces OverwriteCells.add_missing_cells).
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreCells,
    OverwriteCells,
    CheckCellMetadata,
]

# Autograde: nbgrader's steps, with Execute replaced by the sandboxed grader
# (grading/execute.py): student cells in the sandbox, test cells in a checker
# kernel; 10 s per cell, then an interrupt; 2 GiB, 120 CPU s and 64 tasks per
# sandboxed process; 600 s per notebook.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.Autograde.exporter_class = SafeNotebookExporter  # refuses broken or oversized notebooks
c.Autograde.pre_convert_hook = missing_notebooks  # says so when the notebook is missing
c.SandboxedExecute.timeout = 10
c.SandboxedExecute.submission_timeout = 600
c.SandboxedExecute.memory_limit = 2 * 2**30
c.SandboxedExecute.cpu_limit = 120
c.SandboxedExecute.process_limit = 64
c.SafeNotebookExporter.max_bytes = 64 * 2**20

# `nbgrader validate` (the students' Validate button) runs in their own kernel.
c.ExecutePreprocessor.timeout = 10
c.Execute.timeout = 10

# Deleted cells are put back by RestoreCells (above); edited locked cells are
# overwritten from the gradebook, so neither raises a score.
c.OverwriteCells.add_missing_cells = False

# Keep feedback small even if a submission prints in a loop.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# Feedback shows the scores and the students' outputs but not the hidden tests'
# code; the grader keeps only the last line of a failing hidden test's traceback.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
