"""Reference values for CrossEntropyLoss's K-dimensional and unbatched layouts, from torch.

Run once with the pinned torch (``python scripts/make_torch_ce_layouts.py``); writes
``tests/data/torch_ce_layouts.npz``: for each case its inputs, torch's loss and the
gradient of its sum, in float64.
"""

import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_ce_layouts.npz"
OPTIONS = {
    "plain": {},
    "weight": {"weight": [0.5, 2.0, 1.0]},
    "smooth": {"label_smoothing": 0.1},
    "ignore": {"ignore_index": 1},
}


def main() -> None:
    rng = np.random.default_rng(15)
    data = {}
    layouts = {
        "kdim_index": (rng.standard_normal((2, 3, 4, 2)), rng.integers(0, 3, (2, 4, 2))),
        "kdim_prob": (
            rng.standard_normal((2, 3, 5)),
            rng.dirichlet(np.ones(3), (2, 5)).transpose(0, 2, 1),
        ),
        "unbatched_index": (rng.standard_normal(3), np.array(2)),
        "unbatched_prob": (rng.standard_normal(3), rng.dirichlet(np.ones(3))),
    }
    for layout, (x, t) in layouts.items():
        for opt, kw in OPTIONS.items():
            if opt == "ignore" and layout.endswith("prob"):
                continue  # torch refuses ignore_index with probability targets
            for red in ("mean", "sum", "none"):
                args = {
                    k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v
                    for k, v in kw.items()
                }
                xt = torch.tensor(x, requires_grad=True)
                loss = torch.nn.CrossEntropyLoss(reduction=red, **args)(xt, torch.tensor(t))
                loss.sum().backward()
                key = f"{layout}/{opt}/{red}"
                data[f"{key}/input"], data[f"{key}/target"] = x, t
                data[f"{key}/value"] = loss.detach().numpy()
                data[f"{key}/grad"] = xt.grad.numpy()
    np.savez_compressed(OUT, torch_version=np.array(torch.__version__), **data)


if __name__ == "__main__":
    main()
