"""The tamper report: what grading noticed, per assignment and student, beside the gradebook.

``tamper_report.json`` sits next to ``gradebook.db``. Each autograde of a
submission replaces that student's entry: when it was graded, whether the
sandbox protected it, how long it took, and its findings (each one sentence,
e.g. "edited locked cell test_mse_loss", "numpy.py beside the notebook (not
given to the grading kernel)", "registered an IPython pre_run_cell hook",
"hit the memory limit"). An empty list means nothing was noticed. Findings
never change a score: the scores come from the checker alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

FILENAME = "tamper_report.json"
UNPROTECTED = "graded WITHOUT the sandbox: this score is not protected against tampering"


def path_for(db_url: str) -> Path:
    """The report beside the gradebook of an ``sqlite:///...`` URL."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        return Path.cwd() / FILENAME
    return Path(db_url[len(prefix) :]).resolve().parent / FILENAME


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(path: Path, assignment: str, student: str, **entry) -> None:
    """Replace one student's entry for one assignment (``entry``: findings, sandbox, seconds...)."""
    with _locked(Path(path)):
        data = read(path)
        data.setdefault(assignment, {})[student] = {
            "graded": time.strftime("%Y-%m-%d %H:%M:%S"),
            **entry,
        }
        tmp = Path(str(path) + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
