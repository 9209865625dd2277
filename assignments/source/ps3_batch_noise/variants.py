"""Fixture submissions for ps3_batch_noise: its bugs, and correct answers in other styles.

Used by ``course_tools.variants`` (the pipeline tests and ``make grade-demo``),
never released (``variants.py`` is in ``CourseDirectory.ignore``). Each bug
names every test cell it must lose (``zero_cells``: the broken function's, and
those of exercises whose briefs say they are built on it) and what the failing
cells must say (``messages``); every other code test cell must keep full marks.
``expect="full"``: correct answers that must keep full marks.
"""

from course_tools import Variant

FIRST_SOLUTION = "batch_mean_variance"  # the solution cell the common fixtures (loop, kill) replace

BUGS = [
    Variant(
        "calls_losskit",
        "train_val_split delegates to losskit.data.train_val_split (same split, not own work)",
        replace=(
            (
                "train_val_split",
                "from losskit.data import train_val_split as _split\n\n\n"
                "def train_val_split(n, val_fraction, seed):\n"
                "    idx = np.arange(n)\n"
                "    tr, va, _, _ = _split(idx, idx, val_fraction=val_fraction, seed=seed)\n"
                "    return tr, va",
            ),
        ),
        # the import fails in the grading sandbox: train_val_split is never defined, and
        # fit_early_stopping, built on it, fails with it
        zero_cells=(
            "test_train_val_split",
            "hidden_train_val_split",
            "test_fit_early_stopping",
            "hidden_fit_early_stopping",
        ),
        category="library",
    ),
    Variant(
        "no_finite_population",
        "theoretical_variance returns sigma^2 / B (the with-replacement formula)",
        edits=(
            (
                "theoretical_variance",
                "np.var(values) / batch_size * (n - batch_size) / (n - 1)",
                "np.var(values) / batch_size",
            ),
        ),
        zero_cells=("test_theoretical_variance", "hidden_theoretical_variance"),
    ),
    Variant(
        "with_replacement",
        "batch_mean_variance draws batches with replacement",
        edits=(("batch_mean_variance", "replace=False", "replace=True"),),
        zero_cells=("test_batch_mean_variance", "hidden_batch_mean_variance"),
    ),
    Variant(
        "last_not_best",
        "fit_early_stopping returns the last weights instead of the best",
        edits=(
            (
                "fit_early_stopping",
                '"w": best[2],\n        "b": best[3],',
                '"w": w,\n        "b": b,',
            ),
        ),
        zero_cells=("test_fit_early_stopping", "hidden_fit_early_stopping"),
        messages=(("test_fit_early_stopping", "restore the best epoch's copy"),),
    ),
    Variant(
        "validation_last",
        "train_val_split takes the validation set from the end of the permutation",
        replace=(
            (
                "train_val_split",
                "def train_val_split(n, val_fraction, seed):\n"
                "    if not 0 < val_fraction < 1:\n"
                "        raise ValueError('val_fraction')\n"
                "    perm = np.random.default_rng(seed).permutation(n)\n"
                "    k = int(round(n * val_fraction))\n"
                "    return perm[: n - k], perm[n - k :]",
            ),
        ),
        # fit_early_stopping is built on it: its tests say to fix the split first
        zero_cells=(
            "test_train_val_split",
            "hidden_train_val_split",
            "test_fit_early_stopping",
            "hidden_fit_early_stopping",
        ),
        messages=(
            ("test_fit_early_stopping", "fix train_val_split first"),
            ("hidden_fit_early_stopping", "fix train_val_split first"),
        ),
    ),
    Variant(
        "unweighted_epoch_loss",
        "fit_early_stopping records the plain mean of the batch losses (short last batch)",
        edits=(
            (
                "fit_early_stopping",
                "float(np.average(losses, weights=sizes))",
                "float(np.mean(losses))",
            ),
        ),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "plain mean of its batch losses"),),
    ),
    Variant(
        "same_order_every_epoch",
        "fit_early_stopping shuffles every epoch with seed instead of seed + e",
        edits=(("fit_early_stopping", "seed + epoch", "seed"),),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "seed + e"),),
    ),
    Variant(
        "no_stop_on_last_epoch",
        "fit_early_stopping reports None when patience runs out on the last epoch",
        edits=(
            (
                "fit_early_stopping",
                "if waited >= patience:",
                "if waited >= patience and epoch < max_epochs - 1:",
            ),
        ),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "that is a stop"),),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: a permutation per trial, another form of the formula",
        replace=(
            (
                "batch_mean_variance",
                "def batch_mean_variance(values, batch_size, n_trials, seed):\n"
                "    values = np.asarray(values)\n"
                "    n = len(values)\n"
                "    if not 1 <= batch_size <= n:\n"
                "        raise ValueError('batch_size')\n"
                "    rng = np.random.default_rng(seed)\n"
                "    means = [values[rng.permutation(n)[:batch_size]].mean()\n"
                "             for _ in range(n_trials)]\n"
                "    return np.var(means)",
            ),
            (
                "theoretical_variance",
                "def theoretical_variance(values, batch_size):\n"
                "    v = np.asarray(values, dtype=float)\n"
                "    n, b = v.size, batch_size\n"
                "    s2 = np.add.reduce((v - np.add.reduce(v) / n) ** 2) / n\n"
                "    return s2 * (n - b) / (b * (n - 1))",
            ),
        ),
        expect="full",
    ),
]
