"""Fixture submissions for ps2_minibatch_sgd: its bugs, and correct answers in other styles.

Used by ``course_tools.variants`` (the pipeline tests and ``make grade-demo``),
never released (``variants.py`` is in ``CourseDirectory.ignore``). Each bug
names every test cell it must lose (``zero_cells``: the broken function's, and
those of exercises whose briefs say they are built on it) and what the failing
cells must say (``messages``); every other code test cell must keep full marks.
``expect="full"``: correct answers that must keep full marks.
"""

from course_tools import Variant

FIRST_SOLUTION = "batch_indices"  # the solution cell the common fixtures (loop, kill) replace

# ps2's "sum instead of mean" gradient bug, and the cells it costs (sgd_epoch and
# accumulated_grad are built on linreg_loss_and_grad)
_SUM_NOT_MEAN = (
    (
        "linreg_loss_and_grad",
        "grad_w = (2.0 / n) * (Xb.T @ r)",
        "grad_w = 2.0 * (Xb.T @ r)",
    ),
    ("linreg_loss_and_grad", "float((2.0 / n) * np.sum(r))", "float(2.0 * np.sum(r))"),
)
_SUM_NOT_MEAN_CELLS = (
    "test_linreg_loss_and_grad",
    "hidden_linreg_loss_and_grad",
    "hidden_sgd_epoch",
    "test_accumulated_grad",
    "hidden_accumulated_grad",
)

BUGS = [
    Variant(
        "calls_losskit",
        "batch_indices delegates to losskit.BatchLoader",
        replace=(
            (
                "batch_indices",
                "import losskit\n\n\n"
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    loader = losskit.BatchLoader(\n"
                "        np.arange(n), batch_size=batch_size, shuffle=shuffle,"
                " drop_last=drop_last, seed=seed\n"
                "    )\n"
                "    return [np.asarray(b) for b in loader.index_batches()]",
            ),
        ),
        # the import fails in the grading sandbox: batch_indices is never defined, and
        # sgd_epoch, built on it, fails with it
        zero_cells=(
            "test_batch_indices",
            "hidden_batch_indices",
            "test_sgd_epoch",
            "hidden_sgd_epoch",
        ),
        category="library",
    ),
    Variant(
        "sum_not_mean",
        "linreg_loss_and_grad's gradient sums over the batch instead of averaging",
        edits=_SUM_NOT_MEAN,
        zero_cells=_SUM_NOT_MEAN_CELLS,
    ),
    Variant(
        "sum_and_no_divide",
        "linreg_loss_and_grad sums over the batch and accumulated_grad never divides: "
        "two bugs that cancel if accumulated_grad is tested against linreg_loss_and_grad",
        edits=_SUM_NOT_MEAN,
        replace=(
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    grads = [linreg_loss_and_grad(w, b, Xk, yk) for Xk, yk in micro_batches]\n"
                "    return sum(g[1] for g in grads), sum(g[2] for g in grads)",
            ),
        ),
        zero_cells=_SUM_NOT_MEAN_CELLS,
    ),
    Variant(
        "accumulate_divide_by_k",
        "accumulated_grad divides the sum of K micro-batch means by K",
        replace=(
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    grads = [linreg_loss_and_grad(w, b, Xk, yk) for Xk, yk in micro_batches]\n"
                "    k = len(grads)\n"
                "    return sum(g[1] for g in grads) / k, sum(g[2] for g in grads) / k",
            ),
        ),
        zero_cells=("test_accumulated_grad", "hidden_accumulated_grad"),
        messages=(("test_accumulated_grad", "right only for equal micro-batches"),),
    ),
    Variant(
        "mean_of_batch_means",
        "epoch_loss averages the batch means without weighting by size",
        edits=(
            (
                "epoch_loss",
                "return float(np.sum(losses * sizes) / np.sum(sizes))",
                "return float(np.mean(losses))",
            ),
        ),
        zero_cells=("test_epoch_loss", "hidden_epoch_loss"),
    ),
    Variant(
        "blank_batch_indices",
        "batch_indices left unwritten (the stub), everything else the reference",
        replace=(
            (
                "batch_indices",
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    # YOUR CODE HERE\n"
                "    raise NotImplementedError()",
            ),
        ),
        # sgd_epoch is built on batch_indices; epoch_loss is not and keeps its points
        zero_cells=(
            "test_batch_indices",
            "hidden_batch_indices",
            "test_sgd_epoch",
            "hidden_sgd_epoch",
        ),
    ),
    Variant(
        "empty_last_batch",
        "batch_indices makes n // B + 1 batches: an empty one when B divides n",
        replace=(
            (
                "batch_indices",
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    if batch_size < 1:\n"
                "        raise ValueError('batch_size')\n"
                "    order = np.random.default_rng(seed).permutation(n)\n"
                "    nb = n // batch_size + (0 if drop_last else 1)\n"
                "    return [order[i * batch_size : (i + 1) * batch_size] for i in range(nb)]",
            ),
        ),
        # sgd_epoch, built on it, divides by the empty batch's size
        zero_cells=(
            "test_batch_indices",
            "hidden_batch_indices",
            "test_sgd_epoch",
            "hidden_sgd_epoch",
        ),
        messages=(
            ("test_batch_indices", "no empty batches"),
            ("hidden_batch_indices", "no empty batches"),
        ),
    ),
    Variant(
        "legacy_seed",
        "batch_indices shuffles with np.random.seed + np.random.permutation, not default_rng",
        edits=(
            (
                "batch_indices",
                "order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)",
                "np.random.seed(seed)\n"
                "    order = np.random.permutation(n) if shuffle else np.arange(n)",
            ),
        ),
        zero_cells=("test_batch_indices", "hidden_batch_indices", "hidden_sgd_epoch"),
        messages=(
            ("test_batch_indices", "np.random.default_rng(0).permutation(10)"),
            ("hidden_batch_indices", "np.random.default_rng(seed).permutation(n)"),
        ),
    ),
    Variant(
        "sgd_in_place",
        "sgd_epoch steps with w -= ... on the caller's array",
        edits=(
            ("sgd_epoch", "w = np.array(w, dtype=float)", "w = np.asarray(w, dtype=float)"),
            ("sgd_epoch", "w = w - lr * scale * gw", "w -= lr * scale * gw"),
        ),
        zero_cells=("test_sgd_epoch", "hidden_sgd_epoch"),
        messages=(
            ("test_sgd_epoch", "changed the caller's w in place"),
            ("hidden_sgd_epoch", "do not modify the caller's w in place"),
        ),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: rng.shuffle, arrays returned, loops, one stacked batch",
        edits=(
            (
                "batch_indices",
                "order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)",
                "order = np.arange(n)\n"
                "    if shuffle:\n"
                "        np.random.default_rng(seed).shuffle(order)",
            ),
            (
                "sgd_epoch",
                "return w, b, batch_losses, batch_sizes",
                "return w, b, np.array(batch_losses), np.array(batch_sizes)",
            ),
        ),
        replace=(
            (
                "epoch_loss",
                "def epoch_loss(batch_losses, batch_sizes):\n"
                "    total, count = 0.0, 0\n"
                "    for loss, size in zip(batch_losses, batch_sizes):\n"
                "        total += loss * size\n"
                "        count += size\n"
                "    return total / count",
            ),
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    Xa = np.concatenate([m[0] for m in micro_batches])\n"
                "    ya = np.concatenate([m[1] for m in micro_batches])\n"
                "    _, gw, gb = linreg_loss_and_grad(w, b, Xa, ya)\n"
                "    return gw, gb",
            ),
        ),
        expect="full",
    ),
]
