"""losskit: how losses, reductions and mini-batches shape learning, on NumPy or CuPy."""

from ._arraycheck import NonFiniteWarning
from .backend import Backend, available_backends, get_backend
from .batching import BatchLoader
from .data import (
    load_digits,
    make_blobs,
    make_linear_regression,
    make_moons,
    make_sine,
    train_val_split,
)
from .fit import EarlyStopping, History, fit
from .gradcheck import GradcheckResult, gradcheck
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from .models import MLP, LinearRegression, LogisticRegression, SoftmaxRegression
from .numerics import (
    log_softmax,
    logsumexp,
    naive_log_softmax,
    naive_softmax,
    sigmoid,
    softmax,
    streaming_logsumexp,
)
from .optim import SGD, Adam
from .summation import (
    SUMMATION_METHODS,
    sum_float64,
    sum_kahan,
    sum_pairwise,
    sum_sequential,
)
from .vectorized import RunsHistory, fit_runs

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "BatchLoader",
    "EarlyStopping",
    "History",
    "LinearRegression",
    "LogisticRegression",
    "RunsHistory",
    "SoftmaxRegression",
    "fit",
    "gradcheck",
    "GradcheckResult",
    "fit_runs",
    "load_digits",
    "make_blobs",
    "make_linear_regression",
    "make_moons",
    "make_sine",
    "train_val_split",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NonFiniteWarning",
    "SUMMATION_METHODS",
    "Backend",
    "available_backends",
    "get_backend",
    "log_softmax",
    "logsumexp",
    "naive_log_softmax",
    "naive_softmax",
    "sigmoid",
    "softmax",
    "streaming_logsumexp",
    "sum_float64",
    "sum_kahan",
    "sum_pairwise",
    "sum_sequential",
]
