"""CrossEntropyLoss on torch's K-dimensional (N, C, d1, ...) and unbatched (C,) layouts,
against stored torch 2.13 values (scripts/make_torch_ce_layouts.py)."""

import pathlib

import numpy as np
import pytest

import losskit as lk

REF = np.load(pathlib.Path(__file__).parent / "data" / "torch_ce_layouts.npz")
CASES = sorted({k.rsplit("/", 1)[0] for k in REF.files if k.count("/") == 3})
OPTIONS = {
    "plain": {},
    "weight": {"weight": [0.5, 2.0, 1.0]},
    "smooth": {"label_smoothing": 0.1},
    "ignore": {"ignore_index": 1},
}


@pytest.mark.parametrize("case", CASES)
def test_layouts_match_torch(backend, case):
    _, opt, red = case.split("/")
    x, t = (REF[f"{case}/{k}"] for k in ("input", "target"))
    loss = lk.CrossEntropyLoss(reduction=red, **OPTIONS[opt])
    value, grad = loss.value_and_grad(backend.asarray(x), backend.asarray(t))
    assert tuple(value.shape) == REF[f"{case}/value"].shape
    assert tuple(grad.shape) == x.shape
    np.testing.assert_allclose(backend.to_host(value), REF[f"{case}/value"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(backend.to_host(grad), REF[f"{case}/grad"], rtol=1e-12, atol=1e-15)


def test_kdim_target_of_the_wrong_shape_is_explained():
    with pytest.raises(ValueError, match=r"class indices \(2, 4\)"):
        lk.CrossEntropyLoss()(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64))
