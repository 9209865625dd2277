"""Every sentence a panel shows is true for the values on screen, over the whole control range.

Issue 14 item 5. For lessons 1, 5, 6 and 8 (lesson 3's reasons have their own
sweep in test_widgets.py), each test sets every control to random values a student
could pick (``losskit.widgets.random_value``: log sliders, corners and all), and
after each change checks the readout's and the message area's claims against the
numbers of the result they describe: a "bit for bit" only where the parameters
are bitwise equal, a blamed short batch only where one was kept and made a
visible difference, an overflow note only where a sum is not finite and its exact
value is past the dtype's largest, a divergence note exactly where a run diverged.
"""

from __future__ import annotations

import numpy as np
import pytest

from losskit.widgets import (
    AccumulationPanel,
    BatchVsDatasetPanel,
    PrecisionMemoryPanel,
    SumVsMeanPanel,
    random_value,
)

DRAWS = 40


def _make(cls):
    return cls(backend="numpy", mode="inline", debounce=0)


def _settings(panel, seed, corners=()):
    """Yield after each random change that the panel drew (rejected values show a message),
    then after each of the settings ``corners`` (dicts of control values)."""
    rng = np.random.default_rng(seed)
    names = [k for k in panel.controls if k != "backend"]
    yield  # the defaults first
    for _ in range(DRAWS):
        control = panel.controls[names[int(rng.integers(len(names)))]]
        control.value = random_value(control, rng)
        if panel.refresh():
            yield
    for corner in corners:
        for name, value in corner.items():
            panel.controls[name].value = value
        assert panel.refresh(), (corner, panel.error)
        yield


def test_sum_vs_mean_claims_hold_over_the_whole_range():
    p = _make(SumVsMeanPanel)
    seen = set()
    # N = 256 = 2 x 100 + 56: the short batch kept, then dropped (B = 100: rounding only)
    corners = [{"batch_size": 100, "drop_last": False}, {"batch_size": 100, "drop_last": True}]
    for _ in _settings(p, 0, corners):
        r, rows = p.result, dict(p.readout_rows(p.result))
        B, N = r.batch_size, r.n_samples
        full, short = divmod(N, B)
        data = rows["data"]
        assert data.startswith(f"N = {N} samples: {full} batch"), data
        assert (f"a short one of {short}" in data) == bool(short), data
        if short:
            assert ("dropped" in data) == r.drop_last, data
        assert r.power_of_two == (B & (B - 1) == 0)
        said = rows["sum at lr/B vs mean"]
        kept_short = bool(short) and not r.drop_last
        deviation = r.max_deviation
        if said == "identical bit for bit":
            assert r.bitwise_equal and deviation == 0
            seen.add("identical")
        elif "short last batch" in said:
            assert kept_short and f"of {short} samples" in said and not r.bitwise_equal
            if np.isfinite(deviation) and r.diverged["sum_scaled"] is None:
                assert deviation > 1e-9, said  # the step is visibly different, not rounding
            seen.add("short")
        else:
            assert not r.bitwise_equal and not kept_short
            assert ("rounding" in said) == (not r.power_of_two), said
            if np.isfinite(deviation) and r.diverged["mean"] is None:
                assert deviation < 1e-6, said  # rounding only: no step of another size
            seen.add("rounding" if not r.power_of_two else "other")
        focus = p.focus()
        effective = rows["effective step vs mean at lr"]
        assert effective.startswith(f"{B if focus == 'sum_same_lr' else 1:g}×"), effective
        # the message area names a divergence exactly when the run on screen diverged
        message = r.diverged[focus]
        if message is None:
            assert "diverge" not in (p.error or "").lower(), p.error
        else:
            assert message in (p.error or ""), (message, p.error)
    assert {"identical", "short", "rounding"} <= seen, seen  # the sweep met every story


def test_precision_memory_claims_hold_over_the_whole_range():
    p = _make(PrecisionMemoryPanel)
    overflowed = 0
    # 10^6 x 0.1 = 1e5 is past float16's 65504
    for _ in _settings(p, 1, [{"dtype": "float16", "n_max": 10**6}]):
        s, m = p.result
        dtype = np.dtype(s.dtype)
        rows = dict(p.readout_rows(p.result))
        eps = float(np.finfo(dtype).eps)
        # the small term: the largest power of ten below half the spacing of 1
        assert s.small < eps / 2 <= s.small * 10, (s.dtype, s.small)
        one_plus = np.asarray(1, dtype=dtype) + np.asarray(s.small, dtype=dtype) == 1
        assert rows[f"1 + {s.small:.3g} == 1 in {s.dtype}"] == str(bool(one_plus))
        largest = float(np.finfo(dtype).max)
        k = len(s.n_values) - 1
        for c in range(2):
            broken = not np.isfinite(s.results[c, :, k]).all()
            if broken:  # an overflow note says so, and its exact total is past the largest
                assert s.exact[c, k] > largest, (s.dtype, s.exact[c, k])
                assert "overflows past its largest value" in (p.error or ""), p.error
                overflowed += 1
        if np.isfinite(s.results[:, :, k]).all():
            assert "overflows past" not in (p.error or ""), p.error
        # the memory rows: the byte counts of B x C arrays of the dtype
        itemsize = np.dtype(m.dtype).itemsize
        assert m.bytes_logits == m.batch_size * m.n_classes * itemsize
        label = f"one ({m.batch_size:,}, {m.n_classes:,}) {m.dtype} array"
        assert rows[label].startswith(f"{m.bytes_logits:,} B"), rows[label]
    assert overflowed, "the sweep never met an overflow"


@pytest.mark.parametrize(
    ("cls", "diverged"),
    [
        (BatchVsDatasetPanel, lambda r: [m for m in r.diverged_message if m]),
        (AccumulationPanel, lambda r: [m for ms in r.diverged.values() for m in ms if m]),
    ],
    ids=["batch_vs_dataset", "accumulation"],
)
def test_divergence_is_said_exactly_when_a_run_diverged(cls, diverged):
    p = _make(cls)
    for _ in _settings(p, 2):
        messages = diverged(p.result)
        for message in messages:
            assert message in (p.error or ""), (message, p.error)
        if not messages:
            assert "diverge" not in (p.error or "").lower(), p.error
