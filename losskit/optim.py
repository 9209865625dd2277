"""Stochastic gradient descent, with PyTorch's momentum and weight-decay conventions.

One update, per parameter ``p`` with gradient ``g``::

    g = g + weight_decay * p          # L2 penalty folded into the gradient
    v = momentum * v + g              # v starts at 0, so the first v is g
    p = p - lr * v                    # (v = g when momentum == 0)

exactly ``torch.optim.SGD`` (dampening 0, no Nesterov). The learning rate stays a
Python ``float`` (a device scalar would force a sync or a dtype promotion), and
parameters are replaced by new arrays, never modified in place, so a saved
snapshot (early stopping's best weights) stays valid.
"""

from __future__ import annotations

from ._argcheck import check_learning_rate, check_real

__all__ = ["SGD"]


class SGD:
    """``SGD(lr, momentum=0.0, weight_decay=0.0)``; ``step(params, grads)`` updates ``params``.

    ``lr`` must be a finite number > 0, ``momentum`` in ``[0, 1)``,
    ``weight_decay`` >= 0; anything else raises with the accepted range. The
    momentum buffers are keyed by parameter name; :meth:`reset` clears them.
    """

    def __init__(self, lr, momentum=0.0, weight_decay=0.0):
        where = "SGD"
        self.lr = check_learning_rate(lr, where)
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
        if set(grads) != set(params):
            raise ValueError(
                f"SGD.step: grads must have one entry per parameter; expected keys "
                f"{sorted(params)}, got {sorted(grads)}."
            )
        for name, p in params.items():
            g = grads[name]
            if tuple(g.shape) != tuple(p.shape):
                raise ValueError(
                    f"SGD.step: gradient for {name!r} has shape {tuple(g.shape)}, parameter has "
                    f"{tuple(p.shape)}; a model's backward must return matching shapes."
                )
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
