"""The README's API tour runs as written, and its error example says what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).parents[1] / "README.md"


def _python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if ">>>" not in b]


def test_readme_has_the_quick_start():
    text = README.read_text()
    assert "make lab" in text and "make test" in text


@pytest.mark.parametrize("block", _python_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_readme_python_blocks_run(block, monkeypatch):
    monkeypatch.delenv("LOSSKIT_BACKEND", raising=False)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    assert "losskit" in namespace, "each README example imports losskit itself"


def test_readme_tour_values():
    namespace: dict = {}
    tour = next(b for b in _python_blocks() if "naive_log_softmax" in b)
    exec(compile(tour, str(README), "exec"), namespace)
    lk = namespace["losskit"]
    x = namespace["x"]
    assert np.isnan(lk.naive_log_softmax(x)).all()
    np.testing.assert_array_equal(lk.log_softmax(x), [-200.0, -100.0, 0.0])
    r = namespace["r"]
    ratio = r.measured_variance[:-1] / r.theory_variance[:-1]
    assert np.all(np.abs(ratio - 1) < 0.15)
    assert r.measured_variance[-1] == 0.0


def test_readme_error_example_matches_the_real_message():
    text = README.read_text()
    shown = re.search(r"ValueError: (CrossEntropyLoss: target 5 out of range[^.]*)", text).group(1)
    import losskit

    logits = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(ValueError, match=re.escape(shown)):
        losskit.CrossEntropyLoss()(logits, np.array([0, 5, 1, 2]))


def test_readme_images_exist():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert images, "the README shows a picture"
    for path in images:
        assert (README.parent / path).is_file(), f"README shows {path}, which is missing"
