"""Generate tests/golden/torch_cases.json from real PyTorch (not a test dependency).

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python scripts/make_golden.py

Every expected value is what torch.nn.functional returns; the tests read the
committed file and never import torch. Cases cover 1-D and N×C inputs,
probabilities with exact 0s and 1s (the -100 clamp), logits up to |x| = 300, row,
matrix and class weights, pos_weight, every reduction, label smoothing, eps, and
float32 / float64.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "torch_cases.json"
REDUCTIONS = ("mean", "sum", "none", "weighted-mean")


def make_inputs(rng: np.random.Generator, shape: tuple[int, ...], logits: bool,
                dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    if logits:
        x = rng.normal(0, 4, shape)
        x.flat[: max(1, x.size // 8)] = rng.choice([-300, -60, -20, 20, 60, 300],
                                                    max(1, x.size // 8))
    else:
        x = rng.uniform(0, 1, shape)
        k = max(1, x.size // 6)
        x.flat[:k] = rng.choice([0.0, 1.0, 1e-12, 1 - 1e-12, 1e-300], k)
    y = rng.integers(0, 2, shape).astype(np.float64)
    y.flat[::5] = rng.uniform(0, 1, y.flat[::5].shape)  # some soft labels
    perm = rng.permutation(x.size)
    x = x.reshape(-1)[perm].reshape(shape)
    return x.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64)


def torch_expected(case: dict[str, Any]) -> Any:
    dt = torch.float64 if case["dtype"] == "float64" else torch.float32
    x = torch.tensor(case["input"], dtype=dt)
    y = torch.tensor(case["target"], dtype=dt)
    if case["label_smoothing"]:
        f = case["label_smoothing"]
        y = y * (1 - f) + 0.5 * f
    w = None
    if case["weight"] is not None:
        w = torch.tensor(case["weight"], dtype=dt)
        if w.dim() == 1 and x.dim() == 2 and case["weight_kind"] == "rows":
            w = w[:, None]
    pw = None if case["pos_weight"] is None else torch.tensor(case["pos_weight"], dtype=dt)
    reduction = "none" if case["reduction"] == "weighted-mean" else case["reduction"]
    if case["logits"]:
        loss = F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw,
                                                  reduction=reduction)
    else:
        if case["eps"] is not None:
            x = x.clamp(case["eps"], 1 - case["eps"])
        if pw is None:
            loss = F.binary_cross_entropy(x, y, weight=w, reduction=reduction)
        else:  # BCELoss has no pos_weight: the SPEC's formula, in torch ops
            loss = -(pw * y * torch.log(x).clamp(min=-100)
                     + (1 - y) * torch.log1p(-x).clamp(min=-100))
            if w is not None:
                loss = loss * w
            loss = {"mean": loss.mean, "sum": loss.sum}.get(reduction, lambda: loss)()
    if case["reduction"] == "weighted-mean":
        total_w = x.numel() if w is None else torch.broadcast_to(w, x.shape).sum()
        loss = loss.sum() / total_w
    return loss.tolist() if loss.dim() else loss.item()


def torch_focal(case: dict[str, Any]) -> Any:
    """torchvision.ops.sigmoid_focal_loss, line for line (and its probability twin)."""
    dt = torch.float64 if case["dtype"] == "float64" else torch.float32
    inputs = torch.tensor(case["input"], dtype=dt)
    targets = torch.tensor(case["target"], dtype=dt)
    if case["logits"]:
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    else:
        p = inputs
        ce_loss = F.binary_cross_entropy(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** case["focal_gamma"])
    alpha = case["focal_alpha"]
    if alpha is not None and alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    loss = {"mean": loss.mean, "sum": loss.sum}.get(case["reduction"], lambda: loss)()
    return loss.tolist() if loss.dim() else loss.item()


def focal_cases() -> list[dict[str, Any]]:
    """Focal loss for logits (|x| <= 6, where 1 - p_t keeps its digits) and probabilities."""
    rng = np.random.default_rng(7)
    out = []
    for logits, dtype, gamma, alpha, reduction in itertools.product(
            (True, False), ("float64", "float32"), (0.0, 0.5, 2.0), (None, 0.25),
            ("mean", "sum", "none")):
        shape = (7, 2) if gamma == 2.0 else (11,)
        x = rng.uniform(-6, 6, shape) if logits else rng.uniform(0.001, 0.999, shape)
        y = rng.integers(0, 2, shape).astype(np.float64)
        y.flat[::4] = rng.uniform(0, 1, y.flat[::4].shape)
        n_dtype = np.dtype(dtype)
        out.append(dict(name=f"focal-{'logits' if logits else 'probs'}-{dtype}-g{gamma}-a{alpha}"
                             f"-{reduction}", input=x.astype(n_dtype).tolist(),
                        target=y.astype(n_dtype).tolist(), logits=logits, dtype=dtype,
                        reduction=reduction, focal_gamma=gamma, focal_alpha=alpha))
    return out


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20261124)
    out: list[dict[str, Any]] = []
    # The SPEC's two reference examples (a widely copied tutorial gets both wrong).
    for dtype in ("float64", "float32"):
        out.append(dict(name=f"tutorial-probabilities-{dtype}", input=[0.8, 0.3, 0.6],
                        target=[1.0, 0.0, 1.0], logits=False, dtype=dtype))
        out.append(dict(name=f"tutorial-logits-{dtype}", input=[0.2, -1.0, 3.0, 0.5],
                        target=[1.0, 0.0, 1.0, 0.0], logits=True, dtype=dtype))
    weightings = ("none", "rows", "matrix", "classes", "pos_weight", "rows+pos_weight")
    for logits, dtype, shape, weighting in itertools.product(
            (False, True), ("float64", "float32"), ((17,), (9, 3)), weightings):
        n_dtype = np.dtype(dtype)
        for reduction in REDUCTIONS:
            x, y = make_inputs(rng, shape, logits, n_dtype)
            classes = shape[1] if len(shape) == 2 else 1
            weight = weight_kind = pos_weight = None
            if "rows" in weighting:
                weight, weight_kind = rng.uniform(0, 3, shape[0]), "rows"
            elif weighting == "matrix":
                weight, weight_kind = rng.uniform(0, 3, shape), "matrix"
            elif weighting == "classes":
                weight, weight_kind = rng.uniform(0.1, 3, classes), "classes"
            if "pos_weight" in weighting:
                pos_weight = rng.uniform(0.2, 5, classes)
            out.append(dict(
                name=f"{'logits' if logits else 'probs'}-{dtype}-{'x'.join(map(str, shape))}"
                     f"-{weighting}-{reduction}",
                input=x.tolist(), target=y.tolist(), logits=logits, dtype=dtype,
                reduction=reduction,
                weight=None if weight is None else weight.astype(n_dtype).tolist(),
                weight_kind=weight_kind,
                pos_weight=None if pos_weight is None else pos_weight.astype(n_dtype).tolist()))
    for dtype, smoothing, eps in itertools.product(("float64", "float32"), (0.0, 0.1),
                                                   (None, 1e-7, 1e-3)):
        x, y = make_inputs(rng, (12,), False, np.dtype(dtype))
        out.append(dict(name=f"probs-{dtype}-smoothing{smoothing}-eps{eps}", input=x.tolist(),
                        target=y.tolist(), logits=False, dtype=dtype, label_smoothing=smoothing,
                        eps=eps))
    for dtype, smoothing in itertools.product(("float64", "float32"), (0.05, 0.2)):
        x, y = make_inputs(rng, (6, 2), True, np.dtype(dtype))
        out.append(dict(name=f"logits-{dtype}-smoothing{smoothing}", input=x.tolist(),
                        target=y.tolist(), logits=True, dtype=dtype, label_smoothing=smoothing))
    defaults = dict(reduction="mean", weight=None, weight_kind=None, pos_weight=None,
                    label_smoothing=0.0, eps=None, focal_gamma=None, focal_alpha=None)
    return [{**defaults, **case} for case in out + focal_cases()]


def focal(x: torch.Tensor, t: torch.Tensor, gamma: float, alpha: float | None,
          logits: bool) -> torch.Tensor:
    case = {"input": x.tolist(), "target": t.tolist(), "logits": logits, "dtype": "float64",
            "focal_gamma": gamma, "focal_alpha": alpha, "reduction": "mean"}
    return torch.tensor(torch_focal(case), dtype=torch.float64)


def sample_commands() -> list[dict[str, Any]]:
    """`bce compute` runs on sample_data/ and what PyTorch says for the same data."""
    data = OUT.parent.parent.parent / "sample_data"

    def load(name: str, **kw: Any) -> torch.Tensor:
        return torch.tensor(np.loadtxt(data / name, delimiter=",", **kw), dtype=torch.float64)

    p, y, w = load("preds.csv"), load("targets.csv"), load("weights.csv")
    x, t = load("logits.csv"), load("logit_targets.csv")
    mp, mt = load("multilabel_preds.csv", skiprows=1), load("multilabel_targets.csv", skiprows=1)
    comb = np.loadtxt(data / "combined.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    cp, cy, cw = (torch.tensor(comb[:, i]) for i in range(3))
    events = np.loadtxt(data / "events.csv", delimiter=",", skiprows=1)
    ex, et, ew = (torch.tensor(events[:, i]) for i in range(3))  # negative weights
    bce, bcel = F.binary_cross_entropy, F.binary_cross_entropy_with_logits
    pos = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
    runs = [
        (["preds.csv", "targets.csv"], bce(p, y)),
        (["preds.csv", "targets.csv", "-r", "sum"], bce(p, y, reduction="sum")),
        (["preds.csv", "targets.csv", "-r", "none"], bce(p, y, reduction="none")),
        (["preds.csv", "targets.csv", "--weights", "weights.csv"], bce(p, y, weight=w)),
        (["preds.csv", "targets.csv", "--weights", "weights.csv", "-r", "weighted-mean"],
         bce(p, y, weight=w, reduction="sum") / w.sum()),
        (["logits.csv", "logit_targets.csv", "--logits"], bcel(x, t)),
        (["logits.csv", "logit_targets.csv", "--logits", "--pos-weight", "3"],
         bcel(x, t, pos_weight=torch.tensor([3.0], dtype=torch.float64))),
        (["multilabel_preds.csv", "multilabel_targets.csv"], bce(mp, mt)),
        (["multilabel_preds.csv", "multilabel_targets.csv", "--class-weights", "2,1,0.5"],
         bce(mp, mt, weight=pos)),
        (["multilabel_preds.csv", "multilabel_targets.csv", "--pos-weight", "2,1,0.5"],
         -(pos * mt * torch.log(mp) + (1 - mt) * torch.log1p(-mp)).mean()),
        (["combined.csv", "--pred-col", "prediction", "--target-col", "label",
          "--weight-col", "weight"], bce(cp, cy, weight=cw)),
        (["data.json", "-r", "weighted-mean"], bce(p, y, weight=w, reduction="sum") / w.sum()),
        (["data.jsonl", "--pred-col", "p", "--target-col", "y"], bce(p, y)),
        (["preds.npy", "targets.npy"], bce(p, y)),
        (["preds.csv.gz", "targets.csv"], bce(p, y)),
        (["logits.csv", "logit_targets.csv", "--logits", "--focal-gamma", "2", "--focal-alpha",
          "0.25"], focal(x, t, 2.0, 0.25, logits=True)),
        (["preds.csv", "targets.csv", "--focal-gamma", "0.5"],
         focal(p, y, 0.5, None, logits=False)),
        (["events.csv", "--logits", "--weight-col", "weight", "--like", "torch"],
         bcel(ex, et, weight=ew)),
        (["events.csv", "--logits", "--weight-col", "weight", "--like", "torch", "-r", "none"],
         bcel(ex, et, weight=ew, reduction="none")),
        (["preds.csv", "targets.csv", "--weights", "signed_weights.csv", "--like", "torch",
          "-r", "sum"], bce(p, y, weight=load("signed_weights.csv"), reduction="sum")),
    ]
    return [{"args": args, "expected": loss.tolist() if loss.dim() else loss.item()}
            for args, loss in runs]


def main() -> None:
    all_cases = cases()
    for case in all_cases:
        case["expected"] = torch_focal(case) if case["focal_gamma"] is not None else \
            torch_expected(case)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "scripts/make_golden.py", "torch": torch.__version__,
                               "cases": all_cases, "sample_commands": sample_commands()},
                              indent=1) + "\n")
    print(f"wrote {len(all_cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
