"""The sandboxed grader behind ``nbgrader autograde`` for this course.

Student code runs in its own kernel inside a bubblewrap sandbox (an unprivileged
user, no network, a private ``/tmp``, a size-limited scratch copy of its own
files as the only writable place, limits on memory, CPU time and processes);
the test cells run in a second kernel, the *checker*, in which no student code
ever runs. The checker calls the student's functions through a small
request/response channel, and only plain data crosses it (numbers, strings,
tuples, lists, dicts, NumPy arrays of numeric or bool dtype), validated on
arrival. See ``assignments/README.md`` ("How grading is protected").

Modules, in the order a grading run uses them:

- ``intake``: checks on a submission before nbgrader parses it (size, JSON,
  which files) and the notebook exporter that refuses what it cannot parse;
- ``sandbox``: the bubblewrap command line (binds, masks, limits, user);
- ``kernels``: starting, stopping and running code in a kernel with a deadline;
- ``student_side``: what runs inside the student's kernel (the channel's far
  end, the library block, observations for the tamper report);
- ``checker_side``: what runs inside the checker kernel (the proxies);
- ``wire``: the plain-data codec both ends use;
- ``execute``: the nbgrader preprocessor that runs a notebook this way;
- ``report``: the tamper report beside the gradebook.

This package is imported by ``nbgrader_config.py`` and, read-only, by the two
kernels: keep this file free of imports.
"""
