"""Values and gradients against stored PyTorch 2.13 results (scripts/make_torch_reference.py).

Tolerances are relative to each array's scale: ``|ours - torch| <= r |torch| + r max|torch|``
with r = 1e-12 in float64 and 1e-5 in float32 (a few ulps of accumulated rounding).
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import losskit

DATA = pathlib.Path(__file__).parent / "data"
INDEX = json.loads((DATA / "torch_reference.json").read_text())
REF = np.load(DATA / "torch_reference.npz")
RTOL = {"float32": 1e-5, "float64": 1e-12}


def _close(ours, ref, dtype, what):
    r = RTOL[dtype]
    scale = float(np.nanmax(np.abs(ref))) if ref.size and not np.all(np.isnan(ref)) else 0.0
    np.testing.assert_allclose(ours, ref, rtol=r, atol=r * scale, equal_nan=True, err_msg=what)


def test_index_matches_arrays():
    assert INDEX["torch_version"].startswith("2.")
    assert len(INDEX["cases"]) >= 25
    names = {n for n, c in INDEX["cases"].items()}
    for loss in ("MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "BCELoss"):
        assert any(INDEX["cases"][n]["loss"] == loss for n in names)
    for n in names:
        for dtype in RTOL:
            for reduction in ("mean", "sum", "none"):
                assert f"{n}/{dtype}/{reduction}/grad" in REF.files


@pytest.mark.parametrize("dtype", sorted(RTOL))
@pytest.mark.parametrize("name", sorted(INDEX["cases"]))
def test_against_pytorch(backend, name, dtype):
    case = INDEX["cases"][name]
    key = f"{name}/{dtype}"
    x = backend.asarray(REF[f"{key}/input"])
    y = backend.asarray(REF[f"{key}/target"])
    arrays = {k: backend.asarray(REF[f"{key}/{k}"]) for k in case["array_options"]}
    for reduction in ("mean", "sum", "none"):
        loss = getattr(losskit, case["loss"])(**case["options"], **arrays, reduction=reduction)
        with warnings.catch_warnings():
            if name in ("ce_all_ignored", "ce_one_class"):  # documented, with a warning
                warnings.simplefilter("ignore", UserWarning)
            value, grad = loss.value_and_grad(x, y)
            forward = loss(x, y)
        ref_value = REF[f"{key}/{reduction}/value"]
        ref_grad = REF[f"{key}/{reduction}/grad"]
        assert value.dtype == x.dtype and grad.dtype == x.dtype
        assert tuple(value.shape) == ref_value.shape
        what = f"{name} {dtype} {reduction}"
        _close(backend.to_host(value), ref_value, dtype, what + " value_and_grad value")
        _close(backend.to_host(forward), ref_value, dtype, what + " forward")
        _close(backend.to_host(grad), ref_grad, dtype, what + " grad")


def test_bce_clamp_reference_values():
    """PyTorch's clamp: a saturated wrong probability costs exactly 100, and its gradient is
    (x - y) / max((1 - x) x, eps) = +-1/eps, eps = float32(1e-12) even in float64."""
    v = REF["bce_saturated/float64/none/value"]
    g = REF["bce_saturated/float64/none/grad"]
    assert v[0] == 100.0 and v[1] == 100.0 and v[2] == 0.0 and v[3] == 0.0
    eps = float(np.float32(1e-12))
    assert g[0] == -1 / eps and g[1] == 1 / eps
    ours = losskit.BCELoss(reduction="none").value_and_grad(
        REF["bce_saturated/float64/input"], REF["bce_saturated/float64/target"]
    )
    np.testing.assert_array_equal(ours[0][:4], v[:4])
    np.testing.assert_array_equal(ours[1][:2], g[:2])
