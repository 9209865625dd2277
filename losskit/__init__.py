"""losskit: how losses, reductions and mini-batches shape learning, on NumPy or CuPy."""

from .backend import Backend, available_backends, get_backend
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from .numerics import (
    log_softmax,
    logsumexp,
    naive_log_softmax,
    naive_softmax,
    softmax,
    streaming_logsumexp,
)
from .summation import (
    SUMMATION_METHODS,
    sum_float64,
    sum_kahan,
    sum_pairwise,
    sum_sequential,
)

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "SUMMATION_METHODS",
    "Backend",
    "available_backends",
    "get_backend",
    "log_softmax",
    "logsumexp",
    "naive_log_softmax",
    "naive_softmax",
    "softmax",
    "streaming_logsumexp",
    "sum_float64",
    "sum_kahan",
    "sum_pairwise",
    "sum_sequential",
]
