"""Generate the PyTorch golden fixture for cnnmem's optimizer tests.

Produces tests/fixtures/golden/optimizers_10_steps.json: for each optimizer configuration, the
parameters after each of 10 `step()` calls of torch.optim (1.13, foreach=False, float32), from
the same initial parameters and the same gradients. No network is involved: the gradients are
seeded random vectors, so every formula is exercised directly. Two parameters, of shapes (197,)
and (3, 5): 197 is not a multiple of any vector width, so loop tails are covered.

Gradients mix scales on purpose (per step and per element, from 1e-4 to 1e2, a few exact
zeros, a per-element bias so that centered RMSprop and momentum differ from the plain forms,
large steps followed by small ones so that amsgrad's running maximum differs from v).

Every float vector is stored as base64 of its little-endian float32 bytes: bit-exact, and small
enough to commit (< 200 KB). Each configuration's "options" are the keyword arguments given to
the torch.optim constructor; an option that is absent takes PyTorch's default, so the C++ test
leaves it unset too and checks cnnmem's defaults at the same time.

Run:  /usr/bin/python3 scripts/make_optimizer_golden.py
The output is deterministic (re-running gives a byte-identical file).
"""
import base64
import json
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "golden", "optimizers_10_steps.json")
SHAPES = [("p0", (197,)), ("p1", (3, 5))]
STEPS = 10
# Per-step gradient scale: large steps, then small ones (so v decays below its maximum).
STEP_SCALE = [1.0, 30.0, 0.01, 1e-3, 2.0, 0.1, 1e-3, 5.0, 1e-4, 0.3]

CONFIGS = [
    {"name": "sgd", "optimizer": "sgd", "options": {"lr": 0.01}},
    {"name": "sgd-momentum", "optimizer": "sgd", "options": {"lr": 0.01, "momentum": 0.9}},
    {"name": "sgd-momentum-dampening", "optimizer": "sgd",
     "options": {"lr": 0.02, "momentum": 0.9, "dampening": 0.1}},
    {"name": "sgd-nesterov-wd", "optimizer": "sgd",
     "options": {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}},
    {"name": "adam", "optimizer": "adam", "options": {}},
    {"name": "adam-amsgrad", "optimizer": "adam",
     "options": {"lr": 0.01, "betas": [0.8, 0.95], "amsgrad": True}},
    {"name": "adam-wd", "optimizer": "adam",
     "options": {"lr": 0.01, "betas": [0.85, 0.98], "eps": 1e-6, "weight_decay": 0.1}},
    {"name": "adamw", "optimizer": "adamw", "options": {}},
    {"name": "adamw-amsgrad", "optimizer": "adamw",
     "options": {"lr": 0.01, "betas": [0.8, 0.95], "weight_decay": 0.1, "amsgrad": True}},
    {"name": "rmsprop", "optimizer": "rmsprop", "options": {}},
    {"name": "rmsprop-centered-momentum", "optimizer": "rmsprop",
     "options": {"lr": 0.003, "alpha": 0.9, "momentum": 0.7, "centered": True}},
    {"name": "rmsprop-wd", "optimizer": "rmsprop",
     "options": {"lr": 0.005, "eps": 1e-4, "weight_decay": 0.2}},
    {"name": "adagrad", "optimizer": "adagrad", "options": {}},
    {"name": "adagrad-decay-init-wd", "optimizer": "adagrad",
     "options": {"lr": 0.05, "lr_decay": 0.1, "initial_accumulator_value": 0.5,
                 "weight_decay": 0.03, "eps": 1e-6}},
]

TORCH_CLASS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode()


def make_data():
    rng = np.random.RandomState(20221028)
    init = [torch.from_numpy(rng.uniform(-1, 1, shape).astype(np.float32)) for _, shape in SHAPES]
    grads = []
    for k in range(STEPS):
        step = []
        for _, shape in SHAPES:
            bias = np.linspace(-0.5, 0.7, int(np.prod(shape))).reshape(shape)
            noise = rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 1, shape)
            g = (bias + noise) * STEP_SCALE[k]
            g.flat[::37] = 0.0  # exact zeros
            step.append(torch.from_numpy(g.astype(np.float32)))
        grads.append(step)
    return init, grads


def run(cfg, init, grads):
    params = [torch.nn.Parameter(t.clone()) for t in init]
    options = dict(cfg["options"])
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    opt = TORCH_CLASS[cfg["optimizer"]](params, foreach=False, **options)
    after = []
    for step in grads:
        for p, g in zip(params, step):
            p.grad = g.clone()
        opt.step()
        after.append([b64(p) for p in params])
    return after


def main():
    torch.set_num_threads(1)
    init, grads = make_data()
    configs = [dict(cfg, params_after=run(cfg, init, grads)) for cfg in CONFIGS]
    result = {
        "generator": "scripts/make_optimizer_golden.py",
        "torch": torch.__version__,
        "encoding": "base64 of little-endian float32",
        "steps": STEPS,
        "params": [{"name": n, "shape": list(s)} for n, s in SHAPES],
        "init": [b64(t) for t in init],
        "grads": [[b64(g) for g in step] for step in grads],
        "configs": configs,
    }
    with open(OUT, "w") as f:
        f.write(json.dumps(result, indent=1) + "\n")
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
