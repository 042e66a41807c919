"""Generate tests/golden/clip_cases.json: scikit-learn's log_loss on float32 input.

    python -m venv /tmp/gen && /tmp/gen/bin/pip install scikit-learn
    /tmp/gen/bin/python scripts/make_golden_clip.py

scikit-learn clips probabilities at the machine epsilon of their dtype, so for
float32 input a confident wrong prediction costs −log(1.19e-7), not the float64
clip's −log(2.2e-16) (and never inf, where 1 − 2.2e-16 rounds to 1 in float32).
`bce --like sklearn --dtype float32` must give these numbers (tests/test_trust.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import log_loss

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "clip_cases.json"
DATA = [
    ("confident and wrong at both ends", [0.0, 1.0], [1, 0]),
    ("exact 0 and 1, right and wrong", [0.0, 1.0, 0.0, 1.0], [0, 1, 1, 0]),
    ("near the clip", [1e-9, 0.99999997, 0.5, 0.3], [1, 0, 1, 0]),
]


def main() -> None:
    cases = []
    for name, p, y in DATA:
        loss = log_loss(np.array(y), np.array(p, dtype=np.float32), labels=[0, 1])
        cases.append({"name": name, "predictions": p, "targets": y,
                      "sklearn_float32": float(np.float32(loss))})
    OUT.write_text(json.dumps({"generator": "scripts/make_golden_clip.py",
                               "sklearn": sklearn.__version__, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
