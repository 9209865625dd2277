"""The losses of ``torch.nn``, each forward written next to its analytic gradient.

A loss is configured once (its own options as positional-or-keyword arguments,
named as in PyTorch; ``reduction`` and ``check_finite`` keyword-only) and called on
arrays of any array-API backend: ``loss(input, target)``, ``loss.grad(input,
target)``, ``loss.value_and_grad(input, target)`` (:class:`Loss`). Values and
gradients match PyTorch 2.x (``tests/data/torch_reference.npz``).

- :mod:`.pointwise`: ``MSELoss``, ``L1Loss``, ``HuberLoss``, ``BCELoss``,
  ``BCEWithLogitsLoss``;
- :mod:`.cross_entropy`: ``CrossEntropyLoss`` (its checks in ``_ce_checks``, its
  kernels in ``_ce_kernels``, ``_ce_numpy``, ``_ce_cupy``).
"""

from ._base import REDUCTIONS, Loss
from .cross_entropy import CrossEntropyLoss
from .pointwise import BCELoss, BCEWithLogitsLoss, HuberLoss, L1Loss, MSELoss

__all__ = [
    "REDUCTIONS",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "Loss",
    "MSELoss",
]
