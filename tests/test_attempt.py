"""``losskit.widgets.attempt``: run one call, keep what a student would see (issue 14 item 7).

A lesson cell that makes a mistake on purpose shows, in one line of Markdown, what
the call did: its value, its warnings, or its error. These tests check that the
line says exactly that, that nothing is lost (every warning, the exception itself)
or printed, and that the line stays one line of literal text whatever the message.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import losskit
from losskit.widgets import Attempt, attempt, reveal


def test_a_quiet_call_returns_its_value_and_says_so():
    out = attempt(lambda: np.float64(1.17477))
    assert isinstance(out, Attempt)
    assert out.value == np.float64(1.17477) and out.error is None
    assert not out.raised and not out.warned and out.warnings == ()
    assert str(out) == "returns `1.175`, no warning"
    assert out.describe(digits=2) == "returns `1.2`, no warning"


def test_arguments_are_passed_on():
    out = attempt(lambda a, b=0: a - b, 5, b=2)
    assert out.value == 3 and str(out) == "returns `3`, no warning"


def test_every_warning_is_recorded_and_none_is_printed(recwarn):
    def twice():
        warnings.warn("first", UserWarning, stacklevel=1)
        warnings.warn("first", UserWarning, stacklevel=1)  # a default filter shows it once
        return np.log(np.array(-1.0))  # RuntimeWarning: invalid value encountered in log

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a lesson that silenced warnings still sees them here
        out = attempt(twice)
    assert [w.category for w in out.warnings] == [UserWarning, UserWarning, RuntimeWarning]
    assert out.warned and not out.raised and np.isnan(out.value)
    assert str(out) == (  # each distinct warning once, in order, with how often it came
        "returns `nan`; warns `UserWarning` (2 times): first; "
        "warns `RuntimeWarning`: invalid value encountered in log"
    )
    assert len(recwarn) == 0


def test_an_error_is_kept_not_raised():
    out = attempt(lambda: np.arange(3)[np.array([0, 3])])
    assert out.raised and isinstance(out.error, IndexError) and out.value is None
    assert str(out) == "raises `IndexError`: index 3 is out of bounds for axis 0 with size 3"


def test_warnings_before_an_error_are_kept():
    def warn_then_fail():
        warnings.warn("careful", UserWarning, stacklevel=1)
        raise ValueError("bad input")

    out = attempt(warn_then_fail)
    assert out.raised and out.warned
    assert str(out) == "raises `ValueError`: bad input; warns `UserWarning`: careful"


def test_a_losskit_error_as_a_student_sees_it():
    out = attempt(losskit.MSELoss(), np.zeros((5, 1)), np.zeros(5))
    assert isinstance(out.error, ValueError)
    assert str(out).startswith("raises `ValueError`: MSELoss: input and target must have")
    assert str(out.error).split()[:3] == ["MSELoss:", "input", "and"]  # the exception itself


def test_backend_arrays_come_back_to_the_host():
    import array_api_strict as xp

    value = xp.asarray(0.25, dtype=xp.float64, device=xp.Device("device1"))  # no silent host copy
    assert str(attempt(lambda: value)) == "returns `0.25`, no warning"
    matrix = xp.ones((5, 5), dtype=xp.float64, device=xp.Device("device1"))
    assert str(attempt(lambda: matrix)) == "returns an array of shape `(5, 5)`, no warning"


def test_other_values_are_shown_by_repr():
    assert str(attempt(lambda: "ok")) == "returns `'ok'`, no warning"
    long = str(attempt(lambda: "x" * 100))
    assert long.endswith("...`, no warning") and len(long) < 90


def test_the_line_is_one_line_of_literal_markdown():
    def noisy():
        raise TypeError("use *input*[:, 0]\n  or <b>ignore_index</b> | $x$ ~ `y`")

    line = str(attempt(noisy))
    assert "\n" not in line
    assert line == (
        r"raises `TypeError`: use \*input\*\[:, 0\] or \<b\>ignore\_index\</b\> \| \$x\$ \~ \`y\`"
    )
    shown = reveal(f"losskit: {attempt(noisy)}").data
    assert "<details>" in shown and "<b>" not in shown


def test_interrupts_are_not_caught():
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attempt(interrupted)


@pytest.mark.parametrize("bad", [None, 3, "np.log(-1)"])
def test_a_non_callable_is_refused(bad):
    with pytest.raises(TypeError, match=r"attempt\(\): fn must be callable, got .*lambda"):
        attempt(bad)


def test_attempt_is_exported():
    import losskit.widgets

    assert {"attempt", "Attempt"} <= set(losskit.widgets.__all__)
