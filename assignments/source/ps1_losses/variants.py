"""Fixture submissions for ps1_losses: its bugs, and correct answers in other styles.

Used by ``course_tools.variants`` (the pipeline tests and ``make grade-demo``),
never released (``variants.py`` is in ``CourseDirectory.ignore``). Each bug
names every test cell it must lose (``zero_cells``: the broken function's, and
those of exercises whose briefs say they are built on it) and what the failing
cells must say (``messages``); every other code test cell must keep full marks.
``expect="full"``: correct answers that must keep full marks.
"""

from course_tools import Variant

FIRST_SOLUTION = "mse_loss"  # the solution cell the common fixtures (loop, kill) replace

BUGS = [
    Variant(
        "naive_logsumexp",
        "log_softmax without the max shift: x - log(sum(exp(x)))",
        replace=(
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x = np.asarray(x)\n"
                "    return np.log(np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True))",
            ),
        ),
        # cross_entropy and its gradient are built on log_softmax (their briefs say so)
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "hidden_cross_entropy",
            "hidden_cross_entropy_grad",
        ),
        messages=(("test_log_softmax", "exp(300) overflows float32 to inf"),),
    ),
    Variant(
        "global_max",
        "log_softmax shifts every row by the maximum of the whole array",
        edits=(("log_softmax", "m = x.max(axis=-1, keepdims=True)", "m = x.max()"),),
        zero_cells=("test_log_softmax", "hidden_log_softmax", "hidden_cross_entropy"),
        messages=(
            ("test_log_softmax", "each row's own max"),
            ("hidden_log_softmax", "each row's own max"),
        ),
    ),
    Variant(
        "log_softmax_in_place",
        "log_softmax shifts its input in place (x -= max), changing the caller's logits",
        replace=(
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x -= x.max(axis=-1, keepdims=True)\n"
                "    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))",
            ),
        ),
        # the right numbers, but the caller's array changes, in every function built on it
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "test_cross_entropy",
            "hidden_cross_entropy",
            "hidden_cross_entropy_grad",
        ),
        messages=(
            ("test_log_softmax", "changed its input in place"),
            ("hidden_log_softmax", "changed its input in place"),
            ("test_cross_entropy", "in place"),
            ("hidden_cross_entropy_grad", "in place"),
        ),
    ),
    Variant(
        "grad_in_place",
        "cross_entropy_grad writes the gradient into the caller's logits",
        replace=(
            (
                "cross_entropy_grad",
                "def cross_entropy_grad(logits, targets):\n"
                "    n = logits.shape[0]\n"
                "    logits[:] = np.exp(log_softmax(logits))\n"
                "    logits[np.arange(n), targets] -= 1\n"
                "    logits /= n\n"
                "    return logits",
            ),
        ),
        zero_cells=("test_cross_entropy_grad", "hidden_cross_entropy_grad"),
        messages=(
            ("test_cross_entropy_grad", "wrote into the caller's logits"),
            ("hidden_cross_entropy_grad", "in place"),
        ),
    ),
    Variant(
        "sum_not_mean",
        "mse_loss's 'mean' returns the sum",
        edits=(
            (
                "mse_loss",
                'if reduction == "mean":\n        return squared.mean()',
                'if reduction == "mean":\n        return squared.sum()',
            ),
        ),
        zero_cells=("test_mse_loss", "hidden_mse_loss"),
    ),
    Variant(
        "mean_last_axis",
        "mse_loss's 'mean' averages over the last axis only (right for 1-D inputs)",
        edits=(("mse_loss", "return squared.mean()", "return squared.mean(axis=-1)"),),
        zero_cells=("test_mse_loss", "hidden_mse_loss"),
        messages=(
            ("test_mse_loss", "averages over all elements"),
            ("hidden_mse_loss", "the mean over all"),
        ),
    ),
    Variant(
        "loses_dtype",
        "mse_loss returns float(...), log_softmax computes in float64: right values, wrong dtype",
        edits=(
            ("mse_loss", "return squared.mean()", "return float(squared.mean())"),
            ("log_softmax", "x = np.asarray(x)", "x = np.asarray(x, dtype=np.float64)"),
        ),
        zero_cells=("test_mse_loss", "hidden_mse_loss", "test_log_softmax", "hidden_log_softmax"),
        messages=(
            ("test_mse_loss", "keep the input's dtype"),
            ("hidden_mse_loss", "keep the input's dtype"),
            ("test_log_softmax", "keep the dtype of x"),
            ("hidden_log_softmax", "float16 in, float16 out"),
        ),
    ),
    Variant(
        "no_range_check",
        "cross_entropy indexes without checking the targets (NumPy raises IndexError for >= C)",
        edits=(
            (
                "cross_entropy",
                "    if targets.size and (targets.min() < 0 or targets.max() >= c):\n"
                "        bad = targets[(targets < 0) | (targets >= c)][0]\n"
                '        raise ValueError(f"target {bad} out of range for {c} classes '
                '(valid 0..{c - 1})")\n',
                "",
            ),
        ),
        zero_cells=("test_cross_entropy", "hidden_cross_entropy"),
        messages=(
            ("test_cross_entropy", "raised IndexError"),
            ("hidden_cross_entropy", "raised IndexError"),
        ),
    ),
    Variant(
        "negative_target",
        "cross_entropy checks only targets.max() >= C: a target of -1 picks the last class",
        edits=(
            (
                "cross_entropy",
                "targets.min() < 0 or targets.max() >= c",
                "targets.max() >= c",
            ),
        ),
        zero_cells=("test_cross_entropy", "hidden_cross_entropy"),
        messages=(
            ("test_cross_entropy", "NumPy reads -1 as the last class"),
            ("hidden_cross_entropy", "instead of raising ValueError"),
        ),
    ),
    Variant(
        "bce_no_clamp",
        "bce_loss without the -100 log clamp",
        edits=(
            ("bce_loss", "np.maximum(np.log(p), -100.0)", "np.log(p)"),
            ("bce_loss", "np.maximum(np.log1p(-p), -100.0)", "np.log1p(-p)"),
        ),
        zero_cells=("test_bce_loss", "hidden_bce_loss"),
        messages=(("test_bce_loss", "clamp each log at -100"),),
    ),
    Variant(
        "bce_warns",
        "bce_loss right, but log(0) is not wrapped in np.errstate: it prints a RuntimeWarning",
        edits=(
            (
                "bce_loss",
                '    with np.errstate(divide="ignore"):\n'
                "        log_p = np.maximum(np.log(p), -100.0)\n"
                "        log_1mp = np.maximum(np.log1p(-p), -100.0)",
                "    log_p = np.maximum(np.log(p), -100.0)\n"
                "    log_1mp = np.maximum(np.log1p(-p), -100.0)",
            ),
        ),
        # nbgrader scores a cell that prints to stderr 0; the visible test says so instead
        zero_cells=("test_bce_loss", "hidden_bce_loss"),
        messages=(("test_bce_loss", "np.errstate(divide='ignore')"),),
    ),
    Variant(
        "forward_difference",
        "numerical_gradient uses the forward difference (f(x + h) - f(x)) / h",
        edits=(
            ("gradcheck", "x[i] = old - h\n        minus", "x[i] = old\n        minus"),
            ("gradcheck", "(plus - minus) / (2 * h)", "(plus - minus) / h"),
        ),
        zero_cells=("test_gradcheck", "hidden_gradcheck"),
        messages=(
            ("test_gradcheck", "forward difference"),
            ("hidden_gradcheck", "differs from central differences"),
        ),
    ),
    Variant(
        "gradcheck_float32",
        "numerical_gradient differences in x's own dtype (float32 stays float32)",
        edits=(("gradcheck", "x = np.array(x, dtype=np.float64)", "x = np.array(x)"),),
        zero_cells=("test_gradcheck", "hidden_gradcheck"),
        messages=(
            ("test_gradcheck", "differences need float64"),
            ("hidden_gradcheck", "copy x to float64"),
        ),
    ),
    Variant(
        "relative_error_no_tiny",
        "relative_error divides by max(|a|, |n|) without the tiny guard: 0 / 0 is NaN",
        edits=(
            (
                "gradcheck",
                "np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)",
                "np.maximum(np.abs(a), np.abs(n))",
            ),
        ),
        zero_cells=("test_gradcheck", "hidden_gradcheck"),
        messages=(("test_gradcheck", "max(|a|, |n|, tiny)"),),
    ),
    Variant(
        "relative_error_no_abs",
        "relative_error computes (a - n) / max(...) without the absolute value",
        edits=(("gradcheck", "errors = np.abs(a - n) / ", "errors = (a - n) / "),),
        zero_cells=("test_gradcheck", "hidden_gradcheck"),
        messages=(
            ("test_gradcheck", "never negative"),
            ("hidden_gradcheck", "relative errors differ"),
        ),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: loops, np.add.reduce, np.logaddexp.reduce, np.where",
        replace=(
            (
                "mse_loss",
                "def mse_loss(pred, target, reduction='mean'):\n"
                "    pred, target = np.asarray(pred), np.asarray(target)\n"
                "    if pred.shape != target.shape:\n"
                "        raise ValueError('shapes differ')\n"
                "    flat = np.empty(pred.size, dtype=pred.dtype)\n"
                "    for i, (p, t) in enumerate(zip(pred.ravel(), target.ravel())):\n"
                "        flat[i] = (p - t) * (p - t)\n"
                "    if reduction == 'none':\n"
                "        return flat.reshape(pred.shape)\n"
                "    if reduction == 'sum':\n"
                "        return np.add.reduce(flat)\n"
                "    if reduction == 'mean':\n"
                "        return np.add.reduce(flat) / pred.dtype.type(flat.size)\n"
                "    raise ValueError(reduction)",
            ),
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x = np.asarray(x)\n"
                "    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)",
            ),
            (
                "cross_entropy",
                "def cross_entropy(logits, targets, reduction='mean'):\n"
                "    logits = np.asarray(logits)\n"
                "    c = logits.shape[1]\n"
                "    out = []\n"
                "    for row, t in zip(log_softmax(logits), targets):\n"
                "        if not 0 <= t < c:\n"
                "            raise ValueError(f'target {t} out of range for {c} classes')\n"
                "        out.append(-row[t])\n"
                "    if reduction == 'none':\n"
                "        return np.array(out)\n"
                "    if reduction == 'sum':\n"
                "        return sum(out)\n"
                "    if reduction == 'mean':\n"
                "        return sum(out) / len(out)\n"
                "    raise ValueError(reduction)",
            ),
            (
                "bce_loss",
                "def bce_loss(probs, targets, reduction='mean'):\n"
                "    p, y = np.asarray(probs), np.asarray(targets)\n"
                "    if p.shape != y.shape:\n"
                "        raise ValueError('shapes differ')\n"
                "    with np.errstate(divide='ignore', invalid='ignore'):\n"
                "        lp = np.maximum(np.log(p), -100.0)\n"
                "        lq = np.maximum(np.log(1 - p), -100.0)\n"
                "        mixed = y * lp + (1 - y) * lq\n"
                "        losses = -np.where(y == 1, lp, np.where(y == 0, lq, mixed))\n"
                "    pick = {'mean': losses.mean, 'sum': losses.sum, 'none': lambda: losses}\n"
                "    return pick[reduction]()",
            ),
        ),
        expect="full",
    ),
    Variant(
        "calls_losskit",
        "log_softmax delegates to losskit.log_softmax",
        replace=(
            (
                "log_softmax",
                "import losskit\n\n\ndef log_softmax(x):\n"
                "    return losskit.log_softmax(np.asarray(x))",
            ),
        ),
        # the import fails in the grading sandbox, so log_softmax is never defined; the
        # exercises built on it fail with it
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "test_cross_entropy",
            "hidden_cross_entropy",
            "test_cross_entropy_grad",
            "hidden_cross_entropy_grad",
        ),
        category="library",
    ),
    Variant(
        "calls_scipy",
        "log_softmax delegates to scipy.special.log_softmax (passes every numeric test)",
        replace=(
            (
                "log_softmax",
                "import scipy.special\n\n\ndef log_softmax(x):\n"
                "    return scipy.special.log_softmax(np.asarray(x), axis=-1)",
            ),
        ),
        # the import fails in the grading sandbox, so log_softmax is never defined; the
        # exercises built on it fail with it
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "test_cross_entropy",
            "hidden_cross_entropy",
            "test_cross_entropy_grad",
            "hidden_cross_entropy_grad",
        ),
        category="library",
    ),
]
