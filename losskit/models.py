"""Four small models, each backward written next to its forward (micrograd style).

Every model holds ``params``, a dict of backend arrays, and exposes:

- ``forward(X)`` -> predictions (the input of a loss);
- ``backward(X, grad_output)`` -> dict of gradients, one per parameter, given
  ``grad_output = loss.grad(forward(X), y)`` (the chain rule's upstream factor).

Shapes, with ``B`` samples, ``D`` features, ``O`` outputs:

===================  ============================  ===================================
model                params                        forward(X (B, D)) ->
===================  ============================  ===================================
LinearRegression     W (D, O), b (O,)              (B, O) = X @ W + b
LogisticRegression   W (D, 1), b (1,)              (B,) logits, for BCEWithLogitsLoss
SoftmaxRegression    W (D, C), b (C,)              (B, C) logits, for CrossEntropyLoss
MLP                  W1 (D, H), b1 (H,),           (B, O) = act(X @ W1 + b1) @ W2 + b2
                     W2 (H, O), b2 (O,)
===================  ============================  ===================================

**Independent runs.** The same code runs R models at once when every parameter
has a leading run axis (``W (R, D, O)``, ``b (R, O)``) and ``X`` is ``(R, B, D)``
(or a shared ``(B, D)``): matmul batches over the run axis and biases broadcast
over the sample axis. :func:`stack_models` builds such a model from R seeded
ones, :meth:`Model.run` takes one back out. ``losskit.vectorized`` trains them.

Initialisation is seeded on the host (``backend.rng(seed)``): weights are
standard normal times ``1/sqrt(fan_in)``, biases zero, then moved to the device.

``dtype``: None (the backend's default: float32 on a GPU, else float64), or float32 /
float64 as a name, a NumPy dtype or the backend's own. ``forward`` takes only ``X`` of
the parameters' dtype (a ``TypeError`` says how to cast): nothing is promoted silently.
"""

from __future__ import annotations

import math

from ._argcheck import check_choice, check_dtype, check_int, check_memory, check_seed
from ._arraycheck import namespace
from .backend import get_backend

__all__ = [
    "MLP",
    "LinearRegression",
    "LogisticRegression",
    "Model",
    "SoftmaxRegression",
    "stack_models",
]


def _bias(b):
    """Bias ``(O,)`` or ``(R, O)`` shaped to broadcast over the sample axis."""
    return b if b.ndim == 1 else b[:, None, :]


def _sum_samples(xp, g):
    """Sum a gradient ``(B, O)`` or ``(R, B, O)`` over its sample axis."""
    return xp.sum(g, axis=-2)


class Model:
    """Base class: ``params`` dict, ``forward``, ``backward``, copies and runs."""

    n_runs: int | None = None

    def _init_common(self, backend, dtype, seed):
        self.backend = get_backend("auto" if backend is None else backend)
        self.dtype, _ = check_dtype(dtype, "dtype", type(self).__name__, backend=self.backend)
        self.seed = check_seed(seed, "seed", type(self).__name__, rng_like=True)
        return self.backend.rng(self.seed)

    def _weight(self, rng, fan_in, fan_out):
        check_memory(
            fan_in * fan_out,
            8,
            f"a ({fan_in}, {fan_out}) weight matrix",
            type(self).__name__,
            fix="use fewer features or hidden units (lessons use at most a few thousand).",
        )
        return self.backend.normal(
            rng, (fan_in, fan_out), self.dtype, scale=1.0 / math.sqrt(fan_in)
        )

    def _zeros(self, n):
        xp = self.backend.xp
        return xp.zeros((n,), dtype=self.dtype, device=self.backend.device)

    def _check_input(self, X):
        where = f"{type(self).__name__}.forward"
        p = next(iter(self.params.values()))
        xp = namespace(
            X, p, where=where, names=("X", "the parameters")
        )  # X an array of the parameters' library
        d = self.n_features
        if X.ndim not in (2, 3) or X.shape[-1] != d:
            raise ValueError(
                f"{where}: X must be (N, {d}) (or (R, N, {d}) for runs); "
                f"got shape {tuple(X.shape)}. The model was built with n_features={d}."
            )
        if X.dtype != p.dtype:  # never promote silently: the result's dtype would drift
            x_name, p_name = (str(t).rsplit(".", 1)[-1] for t in (X.dtype, p.dtype))
            if x_name in ("float32", "float64"):
                fix = f"build the model with dtype='{x_name}' or cast X"
            else:
                fix = "cast X"
            raise TypeError(
                f"{where}: X has dtype {x_name} but the model's parameters are {p_name}; "
                f"expected X of dtype {p_name}. To fix, {fix}: "
                f"X = xp.astype(X, xp.{p_name}) (NumPy: X.astype('{p_name}'))."
            )
        return xp

    def _check_backward(self, X, grad_output):
        """``X`` as for ``forward`` and ``grad_output`` of the output's shape ``(..., N, O)``."""
        where = f"{type(self).__name__}.backward"
        xp = self._check_input(X)
        namespace(X, grad_output, where=where, names=("X", "grad_output"))
        expected = (*tuple(X.shape)[:-1], self.n_outputs)
        if tuple(grad_output.shape) != expected:
            raise ValueError(
                f"{where}: grad_output must have the output's shape {expected} (one row per "
                f"sample of X, one column per output); got {tuple(grad_output.shape)}. Pass "
                f"the loss gradient of forward(X), e.g. loss.grad(model.forward(X), y)."
            )
        return xp

    @property
    def n_params(self) -> int:
        """Number of trainable scalars (per run)."""
        total = 0
        for p in self.params.values():
            shape = p.shape[1:] if self.n_runs is not None else p.shape
            total += math.prod(shape)
        return total

    def copy(self):
        """A copy sharing nothing mutable: a new dict of (immutable-by-convention) arrays."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params)
        return new

    def get_params(self) -> dict:
        """A snapshot of the parameters (a new dict; arrays are never updated in place)."""
        return dict(self.params)

    def set_params(self, params: dict) -> None:
        """Replace the parameters (e.g. restore the best epoch's weights)."""
        missing = set(self.params) ^ set(params)
        if missing:
            raise ValueError(
                f"{type(self).__name__}.set_params: expected keys {sorted(self.params)}; "
                f"got {sorted(params)}."
            )
        self.params = dict(params)

    def run(self, k: int):
        """Run ``k`` of a stacked model, as an ordinary single model."""
        if self.n_runs is None:
            raise ValueError(f"{type(self).__name__}.run: this model holds a single run.")
        k = check_int(k, "k", f"{type(self).__name__}.run", minimum=0, maximum=self.n_runs - 1)
        new = self.copy()
        new.params = {name: p[k, ...] for name, p in self.params.items()}
        new.n_runs = None
        return new

    def __call__(self, X):
        return self.forward(X)

    def __repr__(self) -> str:
        runs = "" if self.n_runs is None else f", n_runs={self.n_runs}"
        return f"{type(self).__name__}({self._describe()}{runs})"


class LinearRegression(Model):
    """``X @ W + b``: ``(N, D) -> (N, O)``. The model of the regression lessons (with MSELoss)."""

    def __init__(self, n_features, n_outputs=1, *, seed=0, backend=None, dtype=None):
        where = type(self).__name__
        self.n_features = check_int(n_features, "n_features", where, minimum=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", where, minimum=1)
        rng = self._init_common(backend, dtype, seed)
        self.params = {
            "W": self._weight(rng, self.n_features, self.n_outputs),
            "b": self._zeros(self.n_outputs),
        }

    def _describe(self):
        return f"n_features={self.n_features}, n_outputs={self.n_outputs}"

    def forward(self, X):
        self._check_input(X)
        return X @ self.params["W"] + _bias(self.params["b"])

    def backward(self, X, grad_output):
        """``dL/dW = X^T G``, ``dL/db = sum_n G`` for ``G = grad_output`` ``(N, O)``."""
        xp = self._check_backward(X, grad_output)
        return {"W": X.mT @ grad_output, "b": _sum_samples(xp, grad_output)}


class SoftmaxRegression(LinearRegression):
    """Multinomial logistic regression: ``(N, D) -> (N, C)`` logits for ``CrossEntropyLoss``."""

    def __init__(self, n_features, n_classes, *, seed=0, backend=None, dtype=None):
        check_int(n_classes, "n_classes", type(self).__name__, minimum=2)
        super().__init__(n_features, n_classes, seed=seed, backend=backend, dtype=dtype)
        self.n_classes = self.n_outputs

    def _describe(self):
        return f"n_features={self.n_features}, n_classes={self.n_classes}"


class LogisticRegression(LinearRegression):
    """Binary logistic regression: ``(N, D) -> (N,)`` logits for ``BCEWithLogitsLoss``.

    The sigmoid lives in the loss (``BCEWithLogitsLoss``), which is what keeps it
    stable; ``predict_proba`` applies it for display.
    """

    def __init__(self, n_features, *, seed=0, backend=None, dtype=None):
        super().__init__(n_features, 1, seed=seed, backend=backend, dtype=dtype)

    def _describe(self):
        return f"n_features={self.n_features}"

    def forward(self, X):
        return super().forward(X)[..., 0]

    def backward(self, X, grad_output):
        """As the linear model, with the ``(N,)`` upstream gradient as an ``(N, 1)`` column."""
        self._check_input(X)
        namespace(X, grad_output, where="LogisticRegression.backward", names=("X", "grad_output"))
        if tuple(grad_output.shape) != tuple(X.shape)[:-1]:
            raise ValueError(
                f"LogisticRegression.backward: grad_output must have the logits' shape "
                f"{tuple(X.shape)[:-1]} (one per sample of X); got {tuple(grad_output.shape)}. "
                f"Pass the loss gradient of forward(X), e.g. loss.grad(model.forward(X), y)."
            )
        return super().backward(X, grad_output[..., None])

    def predict_proba(self, X):
        """``sigmoid(logits)``: probabilities of class 1, ``(N,)``."""
        z = self.forward(X)
        xp = namespace(z, where="LogisticRegression.predict_proba")
        return 1.0 / (1.0 + xp.exp(-z))


class MLP(Model):
    """One hidden layer: ``act(X @ W1 + b1) @ W2 + b2``, ``(N, D) -> (N, O)``.

    ``activation``: ``"tanh"`` (default, smooth: finite differences behave) or
    ``"relu"``. Enough hidden units on few noisy points overfit: lesson 7.
    """

    def __init__(
        self,
        n_features,
        n_hidden,
        n_outputs=1,
        *,
        activation="tanh",
        seed=0,
        backend=None,
        dtype=None,
    ):
        where = "MLP"
        self.n_features = check_int(n_features, "n_features", where, minimum=1)
        self.n_hidden = check_int(n_hidden, "n_hidden", where, minimum=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", where, minimum=1)
        self.activation = check_choice(activation, "activation", where, choices=("tanh", "relu"))
        rng = self._init_common(backend, dtype, seed)
        self.params = {
            "W1": self._weight(rng, self.n_features, self.n_hidden),
            "b1": self._zeros(self.n_hidden),
            "W2": self._weight(rng, self.n_hidden, self.n_outputs),
            "b2": self._zeros(self.n_outputs),
        }

    def _describe(self):
        return (
            f"n_features={self.n_features}, n_hidden={self.n_hidden}, "
            f"n_outputs={self.n_outputs}, activation={self.activation!r}"
        )

    def _hidden(self, xp, X):
        pre = X @ self.params["W1"] + _bias(self.params["b1"])
        if self.activation == "tanh":
            return xp.tanh(pre)
        return xp.maximum(pre, xp.zeros_like(pre))

    def forward(self, X):
        xp = self._check_input(X)
        return self._hidden(xp, X) @ self.params["W2"] + _bias(self.params["b2"])

    def backward(self, X, grad_output):
        """Chain rule through both layers; the hidden activations are recomputed from ``X``.

        ``dW2 = H^T G``, ``db2 = sum G``, ``dH = G W2^T``, ``dA = dH * act'(A)``
        (``1 - H**2`` for tanh, ``H > 0`` for relu), ``dW1 = X^T dA``, ``db1 = sum dA``.
        """
        xp = self._check_backward(X, grad_output)
        H = self._hidden(xp, X)
        dH = grad_output @ self.params["W2"].mT
        if self.activation == "tanh":
            dA = dH * (1.0 - H * H)
        else:
            dA = xp.where(H > 0, dH, xp.zeros_like(dH))
        return {
            "W1": X.mT @ dA,
            "b1": _sum_samples(xp, dA),
            "W2": H.mT @ grad_output,
            "b2": _sum_samples(xp, grad_output),
        }


def stack_models(models):
    """One model holding ``len(models)`` independent runs: every parameter gains a leading run axis.

    All models must be the same class and shape (typically the same constructor
    with different seeds). Run ``k`` of the result equals ``models[k]``.
    """
    models = list(models)
    if not models:
        raise ValueError("stack_models: expected at least one model; got none.")
    first = models[0]
    for m in models[1:]:
        if type(m) is not type(first) or m._describe() != first._describe():
            raise ValueError(
                f"stack_models: all models must be built alike; got {first!r} and {m!r}."
            )
    if first.n_runs is not None:
        raise ValueError("stack_models: the models already hold several runs.")
    xp = first.backend.xp
    new = first.copy()
    new.params = {name: xp.stack([m.params[name] for m in models]) for name in first.params}
    new.n_runs = len(models)
    new.seed = [m.seed for m in models]
    return new
