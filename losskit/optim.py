"""SGD and Adam, exactly as ``torch.optim`` updates (defaults, no extra options).

SGD, one update per parameter ``p`` with gradient ``g``::

    g = g + weight_decay * p          # L2 penalty folded into the gradient
    v = momentum * v + g              # v starts at 0, so the first v is g
    p = p - lr * v                    # (v = g when momentum == 0)

exactly ``torch.optim.SGD`` (dampening 0, no Nesterov). The learning rate stays a
Python ``float`` (a device scalar would force a sync or a dtype promotion), and
parameters are replaced by new arrays, never modified in place, so a saved
snapshot (early stopping's best weights) stays valid.

Adam (Kingma & Ba), as ``torch.optim.Adam`` with ``amsgrad=False``; step ``t``
counts from 1, ``m`` and ``v`` start at 0::

    g = g + weight_decay * p          # L2 penalty in the gradient (not AdamW)
    m = beta1 * m + (1 - beta1) * g   # running mean of the gradient
    v = beta2 * v + (1 - beta2) * g*g # running mean of its square
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

Both moments are bias-corrected for starting at 0. Scaling every gradient by
``c`` scales ``m`` by ``c`` and ``sqrt(v)`` by ``|c|``: the step does not change
except through ``eps``, which is why Adam does not care whether the loss is
summed or averaged (lesson 5).
"""

from __future__ import annotations

from ._argcheck import check_learning_rate, check_real
from ._arraycheck import check_same_device, namespace

__all__ = ["SGD", "Adam"]


def _check_grads(where: str, params: dict, grads: dict) -> None:
    """Dicts with the same keys; each gradient an array of its parameter's shape, dtype,
    library and device (an update never changes the parameters' dtype or library)."""
    for name, d in (("params", params), ("grads", grads)):
        if not isinstance(d, dict):
            raise TypeError(
                f"{where}: {name} must be a dict of arrays keyed by parameter name (e.g. "
                f"model.params); got {type(d).__name__}."
            )
    if set(grads) != set(params):
        raise ValueError(
            f"{where}: grads must have one entry per parameter; expected keys "
            f"{sorted(params)}, got {sorted(grads)}."
        )
    for name, p in params.items():
        g = grads[name]
        namespace(p, g, where=where, names=(f"params[{name!r}]", f"grads[{name!r}]"))
        if tuple(g.shape) != tuple(p.shape):
            raise ValueError(
                f"{where}: gradient for {name!r} has shape {tuple(g.shape)}, parameter has "
                f"{tuple(p.shape)}; a model's backward must return matching shapes."
            )
        if g.dtype != p.dtype:
            raise TypeError(
                f"{where}: gradient for {name!r} has dtype {g.dtype} but the parameter is "
                f"{p.dtype}; the update would change the parameter's dtype. Compute the "
                f"gradient in {p.dtype} (same dtype for model, data and loss) or cast it."
            )
        check_same_device(p, g, (f"params[{name!r}]", f"grads[{name!r}]"), where)


class SGD:
    """``SGD(lr, momentum=0.0, weight_decay=0.0)``; ``step(params, grads)`` updates ``params``.

    ``lr`` must be a finite number > 0, ``momentum`` in ``[0, 1)``,
    ``weight_decay`` >= 0; anything else raises with the accepted range. The
    momentum buffers are keyed by parameter name; :meth:`reset` clears them.
    """

    def __init__(self, lr, momentum=0.0, weight_decay=0.0):
        where = "SGD"
        self.lr = check_learning_rate(lr, "lr", where)
        self.momentum = check_real(
            momentum, "momentum", where, minimum=0.0, maximum=1.0, strict_maximum=True
        )
        self.weight_decay = check_real(weight_decay, "weight_decay", where, minimum=0.0)
        self.velocity: dict = {}
        self.n_steps = 0

    def reset(self) -> None:
        """Forget the momentum buffers (a fresh optimizer with the same settings)."""
        self.velocity = {}
        self.n_steps = 0

    def step(self, params: dict, grads: dict) -> dict:
        """Apply one update to ``params`` (a dict, modified by key assignment) and return it.

        ``grads`` must have a gradient of matching shape for every parameter.
        """
        _check_grads("SGD.step", params, grads)
        for name, p in params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                v = self.velocity.get(name)
                g = g if v is None else self.momentum * v + g
                self.velocity[name] = g
            params[name] = p - self.lr * g
        self.n_steps += 1
        return params

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr!r}, momentum={self.momentum!r}, weight_decay={self.weight_decay!r})"
        )


class Adam:
    """``Adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)``; ``step(params, grads)``.

    ``lr`` must be a finite number > 0, each of ``betas`` in ``[0, 1)``, ``eps`` and
    ``weight_decay`` >= 0; anything else raises with the accepted range. The two
    moment estimates are keyed by parameter name; :meth:`reset` clears them. With
    ``eps=0`` (exact scale invariance) an entry whose ``sqrt(v)`` is 0 takes a zero step
    instead of torch's 0/0 = NaN.
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        where = "Adam"
        self.lr = check_learning_rate(lr, "lr", where)
        if isinstance(betas, str | bytes) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(
                f"{where}: betas must be a pair (beta1, beta2) such as (0.9, 0.999); "
                f"got {type(betas).__name__} {betas!r}."
            )
        self.betas = tuple(
            check_real(b, f"betas[{i}]", where, minimum=0.0, maximum=1.0, strict_maximum=True)
            for i, b in enumerate(betas)
        )
        self.eps = check_real(eps, "eps", where, minimum=0.0)
        self.weight_decay = check_real(weight_decay, "weight_decay", where, minimum=0.0)
        self.reset()

    def reset(self) -> None:
        """Forget the moment estimates and the step count (a fresh optimizer)."""
        self.m: dict = {}
        self.v: dict = {}
        self.n_steps = 0

    def step(self, params: dict, grads: dict) -> dict:
        """Apply one update to ``params`` (a dict, modified by key assignment) and return it.

        ``grads`` must have a gradient of matching shape for every parameter.
        """
        _check_grads("Adam.step", params, grads)
        beta1, beta2 = self.betas
        t = self.n_steps + 1
        step_size = self.lr / (1 - beta1**t)  # Python floats, as torch computes them
        root_correction = (1 - beta2**t) ** 0.5
        for name, p in params.items():
            xp = namespace(p, where="Adam.step")
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * p
            m = beta1 * self.m.get(name, 0.0) + (1 - beta1) * g  # m, v start at 0
            v = beta2 * self.v.get(name, 0.0) + (1 - beta2) * (g * g)
            self.m[name], self.v[name] = m, v
            denom = xp.sqrt(v) / root_correction + self.eps
            if self.eps == 0.0:  # 0/0 where the gradient was always 0: a zero step, not NaN
                zero = denom == 0
                ratio = xp.where(
                    zero, xp.zeros_like(m), m / xp.where(zero, xp.ones_like(denom), denom)
                )
            else:
                ratio = m / denom
            params[name] = p - step_size * ratio
        self.n_steps = t
        return params

    def __repr__(self) -> str:
        return (
            f"Adam(lr={self.lr!r}, betas={self.betas!r}, eps={self.eps!r}, "
            f"weight_decay={self.weight_decay!r})"
        )
