"""nbgrader 0.9 configuration for the losskit course.

Run nbgrader from this folder (it is the course root): ``cd assignments &&
nbgrader generate_assignment ps1_losses``. On JupyterHub set the exchange root
for your hub (see README.md), e.g. ``c.Exchange.root = "/srv/nbgrader/exchange"``;
the tests pass ``--Exchange.root=<temporary dir>`` instead.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

# The course: its id names the exchange folders and the hub's formgrader service.
c.CourseDirectory.course_id = "losskit-101"
c.Exchange.path_includes_course = True

# The jupytext twins (*.pct.py) hold solutions and hidden tests: never release them.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.pct.py",
]

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading kernel: 10 s per cell, then interrupt (an infinite loop costs one
# timeout per looping cell, the rest of the notebook still runs).
c.Execute.timeout = 10
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"
c.ExecutePreprocessor.timeout = 10  # `nbgrader validate` (students' Validate button)

# Deleted test cells are put back (from the gradebook) and run, so deleting a
# failing test never raises a score; edited ones are overwritten the same way.
c.OverwriteCells.add_missing_cells = True

# Keep feedback small even if a submission prints in a loop.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# Feedback shows the scores and the students' outputs but not the hidden tests'
# code (a failing hidden test's traceback still shows the lines around it).
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
