"""Compute reference values with real PyTorch; write tests/data/torch_reference.* and friends.

Run once (needs ``pip install torch==2.13.0``; the test suite then needs no torch):

    python scripts/make_torch_reference.py

For every case below, every reduction ("mean", "sum", "none") and float32 and
float64, it evaluates ``torch.nn.<Loss>(**options)`` on seeded inputs and takes
the gradient with autograd (for "none": the gradient of the sum). Output:

- ``tests/data/torch_reference.npz``: arrays under ``"<case>/<dtype>/input"``,
  ``".../target"``, ``".../<option>"`` (array options such as ``weight``), and
  ``"<case>/<dtype>/<reduction>/value"``, ``".../grad"``.
- ``tests/data/torch_reference.json``: the index: for each case the loss class,
  its scalar options, the names of its array options, and the torch version.
- ``tests/data/torch_numerics.npz``: logsumexp, log_softmax, softmax (see below).
- ``tests/data/torch_adam.npz``: ``torch.optim.Adam`` trajectories (see below).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
DTYPES = ("float32", "float64")
REDUCTIONS = ("mean", "sum", "none")


def _cases(rng):
    """name -> (loss class name, scalar options, array options, input, target); host float64."""
    cases = {}

    def add(name, loss, x, y, options=None, arrays=None):
        cases[name] = (loss, options or {}, arrays or {}, x, y)

    x = rng.standard_normal((8, 5))
    add("mse", "MSELoss", x, rng.standard_normal((8, 5)))
    add("mse_vector", "MSELoss", rng.standard_normal(7), rng.standard_normal(7))
    y = x + rng.standard_normal((8, 5))
    y[0, :2] = x[0, :2]  # ties: L1's gradient is 0 there
    add("l1", "L1Loss", x, y)
    for delta in (1.0, 0.3, 2.5):
        d = 2 * rng.standard_normal((8, 5))
        d[0, :3] = [delta, -delta, 0.0]  # exactly at the kink, and a tie
        add(f"huber_{delta}", "HuberLoss", x, x - d, {"delta": delta})

    p = rng.uniform(0.01, 0.99, (8, 5))
    soft = rng.random((8, 5))
    add("bce", "BCELoss", p, soft)
    add("bce_weight", "BCELoss", p, (soft > 0.5) * 1.0, arrays={"weight": rng.uniform(0.2, 2, 5)})
    add("bce_weight_full", "BCELoss", p, soft, arrays={"weight": rng.uniform(0.2, 2, (8, 5))})
    sat = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 1 - 1e-12, 0.5, 1e-45])
    add("bce_saturated", "BCELoss", sat, np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.3, 1.0]))

    z = 3 * rng.standard_normal((8, 5))
    add("bcel", "BCEWithLogitsLoss", z, soft)
    add(
        "bcel_pos_weight",
        "BCEWithLogitsLoss",
        z,
        (soft > 0.5) * 1.0,
        arrays={"pos_weight": rng.uniform(0.5, 4, 5)},
    )
    add(
        "bcel_weight_pos_weight",
        "BCEWithLogitsLoss",
        z,
        soft,
        arrays={"weight": rng.uniform(0.2, 2, (8, 1)), "pos_weight": rng.uniform(0.5, 4, 5)},
    )
    big = np.array([20.0, -20.0, 1e4, -1e4, 50.0, -50.0, 0.0, 88.0])
    add("bcel_large", "BCEWithLogitsLoss", big, np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5]))

    t = rng.integers(0, 5, 8)
    w = rng.uniform(0.2, 3, 5)
    add("ce", "CrossEntropyLoss", x, t)
    add("ce_weight", "CrossEntropyLoss", x, t, arrays={"weight": w})
    t_ign = t.copy()
    t_ign[[1, 4, 5]] = -100
    add("ce_ignore", "CrossEntropyLoss", x, t_ign)
    add("ce_ignore_class", "CrossEntropyLoss", x, t, {"ignore_index": int(t[0])})
    add("ce_smooth", "CrossEntropyLoss", x, t, {"label_smoothing": 0.1})
    add(
        "ce_weight_ignore_smooth",
        "CrossEntropyLoss",
        x,
        t_ign,
        {"label_smoothing": 0.25},
        {"weight": w},
    )
    add("ce_smooth_full", "CrossEntropyLoss", x, t, {"label_smoothing": 1.0}, {"weight": w})
    probs = rng.dirichlet(np.ones(5), size=8)
    add("ce_prob", "CrossEntropyLoss", x, probs)
    add(
        "ce_prob_weight_smooth",
        "CrossEntropyLoss",
        x,
        probs,
        {"label_smoothing": 0.2},
        {"weight": w},
    )
    xl = 1e4 * rng.standard_normal((6, 5))
    xl[0] = [1e4, 1e4 - 1.0, 0.0, -1e4, 5e3]
    tl = rng.integers(0, 5, 6)
    tl[0] = 0
    add("ce_large_logits", "CrossEntropyLoss", xl, tl)
    add("ce_large_logits_smooth", "CrossEntropyLoss", xl, tl, {"label_smoothing": 0.1})
    add("ce_offset_logits", "CrossEntropyLoss", 1e3 + x, t, {"label_smoothing": 0.1})
    xw = 4 * rng.standard_normal((4, 3000))
    tw = rng.integers(0, 3000, 4)
    add(
        "ce_wide",
        "CrossEntropyLoss",
        xw,
        tw,
        {"label_smoothing": 0.05},
        {"weight": rng.uniform(0.5, 2, 3000)},
    )
    add("ce_one_class", "CrossEntropyLoss", rng.standard_normal((3, 1)), np.zeros(3, dtype=int))
    add("ce_all_ignored", "CrossEntropyLoss", x[:3], np.full(3, -100))
    return cases


def numerics_reference() -> dict:
    """torch's logsumexp, log_softmax, softmax of one (8, 33) input per dtype (one -inf entry)."""
    x = np.random.default_rng(7).standard_normal((8, 33)) * 40
    x[0, 3] = -np.inf
    out = {}
    for dtype in DTYPES:
        t = torch.tensor(x, dtype=getattr(torch, dtype))
        out[f"{dtype}/input"] = t.numpy()
        out[f"{dtype}/logsumexp_last"] = torch.logsumexp(t, dim=-1).numpy()
        out[f"{dtype}/log_softmax_first"] = torch.log_softmax(t, dim=0).numpy()
        out[f"{dtype}/softmax_last"] = torch.softmax(t, dim=-1).numpy()
    return out


# torch.optim.Adam settings; "tiny" takes gradients near eps, where eps changes the step
ADAM_CASES = {
    "default": ({"lr": 0.01}, 1.0),
    "options": ({"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}, 1.0),
    "tiny": ({"lr": 0.01}, 1e-8),
}
ADAM_STEPS = 6


def adam_reference() -> dict:
    """``torch.optim.Adam`` on two parameters, ``W`` (3, 2) and ``b`` (2,), per case and dtype.

    Arrays ``"<case>/<dtype>/<name>0"`` (start), ``".../grad_<name>"`` (steps, ...) the
    seeded gradients fed in, ``".../<name>"`` (steps, ...) the parameter after each
    step; the case's options under ``"<case>/lr"``, ``"/betas"``, ``"/eps"``,
    ``"/weight_decay"`` (torch's defaults where the case gives none).
    """
    rng = np.random.default_rng(3)
    out = {}
    for case, (options, scale) in ADAM_CASES.items():
        start = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
        # a different magnitude at every step, so the moment estimates matter
        size = scale * np.exp(rng.uniform(-2, 2, (ADAM_STEPS, 1)))
        grads = {
            "W": rng.standard_normal((ADAM_STEPS, 3, 2)) * size[:, :, None],
            "b": rng.standard_normal((ADAM_STEPS, 2)) * size,
        }
        for dtype in DTYPES:
            tdtype = getattr(torch, dtype)
            params = {k: torch.tensor(v, dtype=tdtype) for k, v in start.items()}
            opt = torch.optim.Adam(list(params.values()), **options)
            history = {k: [] for k in params}
            for t in range(ADAM_STEPS):
                for k, p in params.items():
                    p.grad = torch.tensor(grads[k][t], dtype=tdtype)
                opt.step()
                for k, p in params.items():
                    history[k].append(p.detach().clone().numpy())
            for k in params:
                out[f"{case}/{dtype}/{k}0"] = torch.tensor(start[k], dtype=tdtype).numpy()
                out[f"{case}/{dtype}/grad_{k}"] = torch.tensor(grads[k], dtype=tdtype).numpy()
                out[f"{case}/{dtype}/{k}"] = np.stack(history[k])
        group = opt.param_groups[0]
        for name in ("lr", "betas", "eps", "weight_decay"):
            out[f"{case}/{name}"] = np.asarray(group[name], dtype=np.float64)
    return out


def main() -> None:
    rng = np.random.default_rng(20261123)
    arrays, index = {}, {"torch_version": torch.__version__, "cases": {}}
    for name, (loss_name, options, array_opts, x, y) in _cases(rng).items():
        index["cases"][name] = {
            "loss": loss_name,
            "options": options,
            "array_options": sorted(array_opts),
            "target": "index" if y.dtype.kind == "i" else "float",
        }
        for dtype in DTYPES:
            tdtype = getattr(torch, dtype)
            xt = torch.tensor(x, dtype=tdtype)
            yt = torch.tensor(y) if y.dtype.kind == "i" else torch.tensor(y, dtype=tdtype)
            kw = {k: torch.tensor(v, dtype=tdtype) for k, v in array_opts.items()}
            key = f"{name}/{dtype}"
            arrays[f"{key}/input"] = xt.numpy()
            arrays[f"{key}/target"] = yt.numpy()
            for k, v in kw.items():
                arrays[f"{key}/{k}"] = v.numpy()
            for reduction in REDUCTIONS:
                loss = getattr(torch.nn, loss_name)(**options, **kw, reduction=reduction)
                xg = xt.clone().requires_grad_(True)
                value = loss(xg, yt)
                value.sum().backward()
                arrays[f"{key}/{reduction}/value"] = value.detach().numpy()
                arrays[f"{key}/{reduction}/grad"] = xg.grad.numpy()
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "torch_reference.npz", **arrays)
    np.savez_compressed(OUT / "torch_numerics.npz", **numerics_reference())
    np.savez_compressed(OUT / "torch_adam.npz", **adam_reference())
    (OUT / "torch_reference.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    n = len(index["cases"])
    print(f"wrote {n} cases x {len(DTYPES)} dtypes x {len(REDUCTIONS)} reductions to {OUT}")


if __name__ == "__main__":
    main()
