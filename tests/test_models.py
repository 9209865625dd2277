"""Models: shapes, seeded init, hand-written backward vs finite differences (float64), runs axis."""

from __future__ import annotations

import numpy as np
import pytest

from losskit.data import make_moons
from losskit.models import (
    MLP,
    LinearRegression,
    LogisticRegression,
    SoftmaxRegression,
    stack_models,
)

MODELS = {
    "linear": lambda be, s=0: LinearRegression(3, 2, seed=s, backend=be, dtype=be.xp.float64),
    "logistic": lambda be, s=0: LogisticRegression(3, seed=s, backend=be, dtype=be.xp.float64),
    "softmax": lambda be, s=0: SoftmaxRegression(3, 4, seed=s, backend=be, dtype=be.xp.float64),
    "mlp-tanh": lambda be, s=0: MLP(3, 5, 2, seed=s, backend=be, dtype=be.xp.float64),
    "mlp-relu": lambda be, s=0: MLP(
        3, 5, 2, activation="relu", seed=s, backend=be, dtype=be.xp.float64
    ),
}


def _objective(model, X, C):
    """A scalar L = sum(forward(X) * C): its gradient w.r.t. the output is exactly C."""
    return float(np.sum(model.backend.to_host(model.forward(X)) * C))


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_backward_matches_finite_differences(kind, backend, to_np):
    rng = np.random.default_rng(0)
    model = MODELS[kind](backend)
    # nonzero biases so relu kinks and symmetric points are not special
    for name, p in model.params.items():
        if name.startswith("b"):
            model.params[name] = backend.asarray(rng.standard_normal(p.shape))
    X_host = rng.standard_normal((6, 3))
    X = backend.asarray(X_host)
    out_shape = tuple(model.forward(X).shape)
    C = rng.standard_normal(out_shape)
    grads = model.backward(X, backend.asarray(C))
    assert sorted(grads) == sorted(model.params)
    eps = 1e-6
    for name, p in model.params.items():
        p_host = to_np(p)
        g = to_np(grads[name])
        assert g.shape == p_host.shape
        numeric = np.zeros_like(p_host)
        for i in np.ndindex(p_host.shape):
            for sign in (1, -1):
                q = p_host.copy()
                q[i] += sign * eps
                model.params[name] = backend.asarray(q)
                numeric[i] += sign * _objective(model, X, C) / (2 * eps)
            model.params[name] = p
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8, err_msg=f"{kind}: {name}")


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_seeded_init_and_shapes(kind, backend, to_np):
    a, b, c = MODELS[kind](backend, 1), MODELS[kind](backend, 1), MODELS[kind](backend, 2)
    W = next(k for k in a.params if k.startswith("W"))
    np.testing.assert_array_equal(to_np(a.params[W]), to_np(b.params[W]))
    assert not np.array_equal(to_np(a.params[W]), to_np(c.params[W]))
    out = a.forward(backend.asarray(np.ones((7, 3))))
    expected = {"linear": (7, 2), "logistic": (7,), "softmax": (7, 4)}.get(kind, (7, 2))
    assert tuple(out.shape) == expected
    assert a.n_params == sum(int(np.prod(p.shape)) for p in a.params.values())


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_stacked_runs_equal_single_runs(kind, backend, to_np):
    models = [MODELS[kind](backend, s) for s in (3, 4, 5)]
    stacked = stack_models(models)
    assert stacked.n_runs == 3
    rng = np.random.default_rng(1)
    Xr = rng.standard_normal((3, 6, 3))
    out = to_np(stacked.forward(backend.asarray(Xr)))
    G = rng.standard_normal(out.shape)
    grads = stacked.backward(backend.asarray(Xr), backend.asarray(G))
    for k, m in enumerate(models):
        single = to_np(m.forward(backend.asarray(Xr[k])))
        np.testing.assert_allclose(out[k], single, rtol=1e-13, atol=1e-15)
        g1 = m.backward(backend.asarray(Xr[k]), backend.asarray(G[k]))
        for name in g1:
            np.testing.assert_allclose(
                to_np(grads[name])[k], to_np(g1[name]), rtol=1e-12, atol=1e-14
            )
        for name, p in stacked.run(k).params.items():
            np.testing.assert_array_equal(to_np(p), to_np(m.params[name]))
    # a shared (N, D) input broadcasts over runs
    shared = to_np(stacked.forward(backend.asarray(Xr[0])))
    np.testing.assert_allclose(
        shared[2], to_np(models[2].forward(backend.asarray(Xr[0]))), rtol=1e-13
    )


def test_model_errors():
    m = LinearRegression(2)
    with pytest.raises(ValueError, match=r"X must be \(N, 2\)"):
        m.forward(np.ones((4, 3)))
    with pytest.raises(TypeError, match="n_features must be an int"):
        LinearRegression(2.0)
    with pytest.raises(TypeError, match="SoftmaxRegression: seed must be a non-negative int"):
        SoftmaxRegression(2, 3, seed=0.5)
    with pytest.raises(ValueError, match=r"make_moons: seed must be >= 0"):
        make_moons(seed=-2)
    with pytest.raises(ValueError, match="n_hidden must be >= 1"):
        MLP(2, 0)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(2, 3, activation="sigmoid")
    with pytest.raises(ValueError, match="built alike"):
        stack_models([LinearRegression(2), LinearRegression(3)])
    with pytest.raises(ValueError, match="single run"):
        m.run(0)
    with pytest.raises(ValueError, match="expected keys"):
        m.set_params({"W": m.params["W"]})


def test_logistic_probabilities():
    m = LogisticRegression(1, backend="numpy")
    m.params["W"] = np.array([[1.0]])
    p = m.predict_proba(np.array([[0.0], [40.0], [-40.0]]))
    np.testing.assert_allclose(p, [0.5, 1.0, 0.0], atol=1e-15)


CLASSES = {
    "linear": lambda **kw: LinearRegression(3, 2, **kw),
    "logistic": lambda **kw: LogisticRegression(3, **kw),
    "softmax": lambda **kw: SoftmaxRegression(3, 4, **kw),
    "mlp": lambda **kw: MLP(3, 5, 2, **kw),
}
FLOAT32_SPELLINGS = {
    "name": lambda be: "float32",
    "numpy-type": lambda be: np.float32,
    "numpy-dtype": lambda be: np.dtype("float32"),
    "namespace": lambda be: be.xp.float32,
}


@pytest.mark.parametrize("kind", sorted(CLASSES))
@pytest.mark.parametrize("spelling", sorted(FLOAT32_SPELLINGS))
def test_float32_given_any_way_works_on_every_backend(kind, spelling, backend):
    model = CLASSES[kind](backend=backend, dtype=FLOAT32_SPELLINGS[spelling](backend))
    assert all(p.dtype == backend.xp.float32 for p in model.params.values())
    out = model.forward(backend.asarray(np.ones((4, 3)), dtype=backend.xp.float32))
    assert out.dtype == backend.xp.float32


@pytest.mark.parametrize("kind", sorted(CLASSES))
@pytest.mark.parametrize(
    "dtype", [np.int64, "int64", "float16", np.bool_, "float"], ids=lambda d: repr(d)
)
def test_non_float32_64_dtypes_are_refused(kind, dtype, backend):
    name = type(CLASSES[kind](backend=backend)).__name__
    with pytest.raises(ValueError, match=rf"{name}: dtype must be 'float32', 'float64' or None"):
        CLASSES[kind](backend=backend, dtype=dtype)
    with pytest.raises(ValueError, match="needs floating-point numbers: pass dtype='float32'"):
        CLASSES[kind](backend=backend, dtype=backend.xp.int64)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_forward_refuses_X_of_another_dtype(kind, backend):
    model = MODELS[kind](backend)  # float64 parameters
    name = type(model).__name__
    X_int = backend.asarray(np.ones((4, 3), dtype=np.int64))
    with pytest.raises(TypeError, match=rf"{name}.forward: X has dtype int64 .* are float64"):
        model.forward(X_int)
    X_32 = backend.asarray(np.ones((4, 3)), dtype=backend.xp.float32)
    with pytest.raises(TypeError, match=r"X has dtype float32 .* build the model with dtype="):
        model.forward(X_32)
    with pytest.raises(TypeError, match="X has dtype float32"):
        stack_models([model, MODELS[kind](backend, 1)]).forward(X_32)


def test_forward_refuses_X_of_another_library():
    model = LinearRegression(3, backend="array_api_strict")
    with pytest.raises(TypeError, match="LinearRegression.forward: arrays come from different"):
        model.forward(np.ones((4, 3)))
