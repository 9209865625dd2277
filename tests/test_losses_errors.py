"""Bad input: the exception type and a fragment of a message that says what, expected, got, fix."""

from __future__ import annotations

import numpy as np
import pytest

from losskit import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
T = np.array([0, 2, 1, 2])


@pytest.fixture
def put(backend):
    return backend.asarray


# ---- cross-entropy targets -----------------------------------------------------------------


def test_target_class_too_large(put):
    with pytest.raises(ValueError, match=r"target 5 out of range for 3 classes \(valid 0\.\.2\)"):
        CrossEntropyLoss()(put(X), put(np.array([0, 5, 1, 2])))


def test_target_negative_not_ignore_index(put):
    with pytest.raises(ValueError, match=r"target -1 out of range.*pass ignore_index=-1"):
        CrossEntropyLoss().grad(put(X), put(np.array([0, -1, 1, 2])))


def test_uint64_labels_beyond_int64_are_not_wrapped_into_ignore_index():
    x = np.zeros((2, 3))
    for big in (2**64 - 100, 2**63 + 1):  # would wrap to -100 (ignore_index) / a negative label
        with pytest.raises(ValueError, match=f"uint64 target holds {big}, beyond any class"):
            CrossEntropyLoss()(x, np.array([0, big], dtype=np.uint64))
    assert float(CrossEntropyLoss()(x, np.array([0, 2], dtype=np.uint64))) == pytest.approx(
        np.log(3.0)
    )


def test_ignore_index_may_be_negative_or_a_class(put):
    t = put(np.array([0, -1, 1, 2]))
    assert np.isfinite(float(CrossEntropyLoss(ignore_index=-1)(put(X), t)))
    assert np.isfinite(float(CrossEntropyLoss(ignore_index=2)(put(X), put(T))))


def test_float_class_indices(put):
    with pytest.raises(TypeError, match=r"class indices must be integers.*astype\(int64\)"):
        CrossEntropyLoss()(put(X), put(T.astype(float)))


def test_batch_sizes_differ(put):
    with pytest.raises(ValueError, match="batch sizes differ: input has 4 samples.*target has 3"):
        CrossEntropyLoss()(put(X), put(T[:3]))
    with pytest.raises(ValueError, match="batch sizes differ"):
        CrossEntropyLoss()(put(X), put(np.full((5, 3), 1 / 3)))


def test_column_of_class_indices(put):
    with pytest.raises(ValueError, match=r"column \(N, 1\).*target\[:, 0\]"):
        CrossEntropyLoss()(put(X), put(T[:, None]))


def test_integer_one_hot_targets(put):
    with pytest.raises(ValueError, match=r"one-hot.*argmax\(axis=1\)"):
        CrossEntropyLoss()(put(X), put(np.eye(3, dtype=np.int64)[T]))


@pytest.mark.parametrize(
    ("shape", "pattern"),
    [
        ((3,), r"unbatched logits \(C,\) take a 0-d class index"),
        ((4, 3, 2), r"K-dimensional logits.*class indices \(4, 2\)"),
        ((), r"logits must be 2-D \(N, C\).*got a 0-D array"),
    ],
)
def test_logits_layout_and_target_must_agree(put, shape, pattern):
    x = put(RNG.standard_normal(shape))
    with pytest.raises(ValueError, match=pattern):
        CrossEntropyLoss()(x, put(np.array([1])))


def test_unbatched_logits_are_one_sample(backend):
    put = backend.asarray
    one = CrossEntropyLoss()(put(X[0]), put(np.array(1)))
    batched = CrossEntropyLoss()(put(X[:1]), put(np.array([1])))
    assert tuple(one.shape) == ()
    np.testing.assert_allclose(backend.to_host(one), backend.to_host(batched), rtol=1e-12)


def test_probability_targets_wrong_shape(put):
    with pytest.raises(ValueError, match=r"probability targets must have the logits' shape"):
        CrossEntropyLoss()(put(X), put(np.full((4, 5), 0.2)))


def test_weight_wrong_length(put):
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\)"):
        CrossEntropyLoss(np.ones(4))(put(X), put(T))


def test_weight_not_one_dimensional():
    with pytest.raises(ValueError, match="weight must be 1-D"):
        CrossEntropyLoss(np.ones((3, 1)))


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan")])
def test_label_smoothing_outside_unit_interval(eps):
    bounds = r"(>= 0|<= 1|finite \(>= 0 and <= 1\))"
    with pytest.raises(ValueError, match=rf"label_smoothing must be {bounds}; got"):
        CrossEntropyLoss(label_smoothing=eps)


def test_label_smoothing_not_a_number():
    with pytest.raises(TypeError, match="label_smoothing must be a real number"):
        CrossEntropyLoss(label_smoothing="0.1")


def test_ignore_index_not_int():
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        CrossEntropyLoss(ignore_index=1.5)


def test_empty_batch(put):
    with pytest.raises(ValueError, match="empty batch"):
        CrossEntropyLoss()(put(np.zeros((0, 3))), put(np.zeros(0, dtype=np.int64)))
    with pytest.raises(ValueError, match="empty batch"):
        MSELoss()(put(np.zeros(0)), put(np.zeros(0)))
    with pytest.raises(ValueError, match="no elements"):
        MSELoss()(put(np.zeros((3, 0))), put(np.zeros((3, 0))))


def test_non_float_logits(put):
    with pytest.raises(TypeError, match=r"input \(logits\) must be a real floating array"):
        CrossEntropyLoss()(put(np.ones((4, 3), dtype=np.int64)), put(T))
    with pytest.raises(TypeError, match="must be a real floating array"):
        MSELoss()(put(np.ones(3, dtype=np.int64)), put(np.ones(3)))


def test_bool_target_for_cross_entropy(put):
    with pytest.raises(TypeError, match="target must be class indices"):
        CrossEntropyLoss()(put(X), put(T > 0))


def test_nan_and_inf_in_input(put):
    bad = X.copy()
    bad[0, 0], bad[1, 1] = np.nan, -np.inf
    with pytest.raises(ValueError, match=r"1 NaN and 1 inf.*check_finite=False"):
        CrossEntropyLoss()(put(bad), put(T))
    with pytest.raises(ValueError, match=r"1 NaN and 1 inf"):
        CrossEntropyLoss().value_and_grad(put(bad), put(T))
    with pytest.raises(ValueError, match=r"1 NaN and 1 inf"):
        MSELoss()(put(bad), put(X))
    with pytest.raises(ValueError, match=r"target contains 1 NaN and 1 inf"):
        MSELoss()(put(X), put(bad))
    probs = np.full((4, 3), 1 / 3)
    probs[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"target \(probabilities\) contains"):
        CrossEntropyLoss()(put(X), put(probs))


def test_check_finite_must_be_bool():
    with pytest.raises(TypeError, match="check_finite must be True or False"):
        MSELoss(check_finite="yes")


# ---- reductions, shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MSELoss, L1Loss, HuberLoss, CrossEntropyLoss, BCELoss])
def test_unknown_reduction(cls):
    choices = r"\['mean', 'sum', 'none'\]"
    with pytest.raises(ValueError, match=rf"reduction must be one of {choices}; got 'avg'"):
        cls(reduction="avg")


@pytest.mark.parametrize(
    "cls", [MSELoss, L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss], ids=lambda c: c.__name__
)
def test_column_against_vector_is_refused(put, cls):
    """(N, 1) against (N,) would broadcast to (N, N): never silently."""
    x, y = RNG.uniform(0.1, 0.9, (5, 1)), RNG.uniform(0, 1, 5)
    with pytest.raises(ValueError, match=r"same shape.*\(5, 1\).*\(5,\).*N x N.*input\[:, 0\]"):
        cls()(put(x), put(y))


def test_shapes_differ(put):
    with pytest.raises(ValueError, match=r"same shape; got input \(4, 3\) and target \(3, 4\)"):
        L1Loss()(put(X), put(X.T))


def test_mixed_libraries():
    import array_api_strict as xs

    with pytest.raises(TypeError, match="different libraries"):
        MSELoss()(X, xs.asarray(X))


def test_mixed_devices():
    import array_api_strict as xs

    x = xs.asarray(X).to_device(xs.Device("device1"))
    msg = r"target is on device .*CPU_DEVICE.* but input is on device .*device1"
    with pytest.raises(ValueError, match=msg):
        MSELoss()(x, xs.asarray(X))
    with pytest.raises(ValueError, match=msg):
        CrossEntropyLoss()(x, xs.asarray(T))
    with pytest.raises(ValueError, match="weight is on device"):
        CrossEntropyLoss(xs.asarray(np.ones(3)))(x, xs.asarray(T).to_device(xs.Device("device1")))


def test_lists_are_refused():
    with pytest.raises(TypeError, match=r"expected an array.*got list.*asarray"):
        MSELoss()([1.0, 2.0], [1.0, 2.0])


# ---- binary cross-entropy ------------------------------------------------------------------


def test_bce_probabilities_outside_unit_interval(put):
    with pytest.raises(
        ValueError, match=r"input \(probabilities\) must lie in \[0, 1\].*BCEWithLogits"
    ):
        BCELoss()(put(X), put(np.zeros_like(X)))


@pytest.mark.parametrize("cls", [BCELoss, BCEWithLogitsLoss])
def test_bce_targets_outside_unit_interval(put, cls):
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\]; got 1 value"):
        cls()(put(np.full(3, 0.5)), put(np.array([0.0, 1.0, 2.0])))


def test_bce_weight_does_not_broadcast(put):
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not broadcast"):
        BCELoss(np.ones(4))(put(np.full((4, 3), 0.5)), put(np.zeros((4, 3))))
    with pytest.raises(ValueError, match=r"weight of shape \(5,\) does not broadcast"):
        BCELoss(np.ones(5))(put(np.full((5, 1), 0.5)), put(np.zeros((5, 1))))


def test_pos_weight_wrong_length(put):
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\).*one weight per label"):
        BCEWithLogitsLoss(pos_weight=np.ones(2))(put(X), put(np.zeros_like(X)))


def test_weight_of_the_wrong_kind():
    with pytest.raises(TypeError, match=r"weight must be an array of weights.*got dict"):
        CrossEntropyLoss(weight={"a": 1})
    with pytest.raises(TypeError, match=r"weight must hold real numbers; got dtype <U1"):
        CrossEntropyLoss(weight=["a", "b"])(X, T)


# ---- Huber -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [0.0, -1.0, float("inf")])
def test_huber_delta_not_positive(delta):
    with pytest.raises(ValueError, match=r"delta must be (> 0|finite \(> 0\)); got"):
        HuberLoss(delta)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MSELoss("sum"), "positional argument"),
        (lambda: L1Loss("sum"), "positional argument"),
        (lambda: HuberLoss("sum"), r"delta must be a real number > 0 .*got str 'sum'"),
        (lambda: CrossEntropyLoss("sum"), r"weight must be an array of weights.*got str 'sum'"),
        (lambda: CrossEntropyLoss(None, "sum"), r"ignore_index must be an int.*got str 'sum'"),
        (lambda: BCELoss("sum"), r"weight must be an array of weights.*got str 'sum'"),
        (lambda: BCEWithLogitsLoss(None, "sum"), r"pos_weight must be an array.*got str 'sum'"),
    ],
)
def test_reduction_is_keyword_only(make, match):
    """``reduction`` is keyword-only on every loss: a positional string lands in the loss's
    own first options (a weight, as in torch.nn) and is refused there, by name."""
    with pytest.raises(TypeError, match=match):
        make()


def test_no_index_error_anywhere(put):
    """A sample of bad calls: none may escape as an IndexError from deep inside."""
    calls = [
        lambda: CrossEntropyLoss()(put(X), put(np.array([3, 0, 0, 0]))),
        lambda: CrossEntropyLoss(np.ones(2))(put(X), put(T)),
        lambda: CrossEntropyLoss()(put(X), put(T[:2])),
        lambda: CrossEntropyLoss()(put(X[:, :1].T), put(T)),
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError)):
            call()
