"""Generate the PyTorch golden fixtures for the cnnmem training-loss test.

Produces, in tests/fixtures/golden/:
  lenet5_init.safetensors  initial LeNet-5 weights (torch.manual_seed(0), default init)
  lenet5_losses.json       per-step training losses (20 steps, batch 32, Fashion-MNIST
                           in file order) for four optimizer configs, plus the L2 norm
                           of every parameter after training

Run:  /usr/bin/python3 scripts/make_golden.py
This script is the source of the committed fixture; rerun it to regenerate. The
output is deterministic (re-running gives byte-identical files).
"""
import gzip
import json, os, struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "golden")
DATA = "/usr/share/datasets/fashion-mnist"
BATCH, STEPS = 32, 20


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data, out = raw[8 + n:], {}
    for name, info in header.items():
        assert info["dtype"] == "F32"
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], "<f4").reshape(info["shape"]).copy())
    return out


def load_data(count):
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and (rows, cols) == (28, 28) and n >= count
        px = np.frombuffer(f.read(count * 784), dtype=np.uint8)
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        assert magic == 2049 and n >= count
        labels = np.frombuffer(f.read(count), dtype=np.uint8)
    x = torch.from_numpy(px.astype(np.float32) / np.float32(255.0)).reshape(count, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


CONFIGS = [
    {"name": "sgd-momentum", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
     "nesterov": False, "weight_decay": 0.0},
    {"name": "adam", "optimizer": "adam", "lr": 0.001, "betas": [0.9, 0.999],
     "eps": 1e-08, "weight_decay": 0.0},
    {"name": "sgd-nesterov-wd", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
     "nesterov": True, "weight_decay": 5e-4},
    {"name": "adam-wd", "optimizer": "adam", "lr": 0.001, "betas": [0.9, 0.999],
     "eps": 1e-08, "weight_decay": 1e-4},
]


def make_optimizer(cfg, params):
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], dampening=0,
                               nesterov=cfg["nesterov"], weight_decay=cfg["weight_decay"])
    return torch.optim.Adam(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"],
                            weight_decay=cfg["weight_decay"])


def train(cfg, init, x, y):
    model = LeNet5()
    model.load_state_dict(init)
    opt, loss_fn, losses = make_optimizer(cfg, model.parameters()), nn.CrossEntropyLoss(), []
    for k in range(STEPS):
        sl = slice(k * BATCH, (k + 1) * BATCH)
        opt.zero_grad()
        loss = loss_fn(model(x[sl]), y[sl])
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    norms = {n: float(p.detach().double().norm().item()) for n, p in model.named_parameters()}
    return {"losses": losses, "final_weights_l2": norms}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    st_path, state = os.path.join(OUT, "lenet5_init.safetensors"), LeNet5().state_dict()
    write_safetensors(st_path, state)
    init = read_safetensors(st_path)  # check the writer with an independent reader
    assert sorted(init) == sorted(state)
    for name, t in state.items():
        assert init[name].dtype == t.dtype and init[name].shape == t.shape
        assert torch.equal(init[name], t), name

    x, y = load_data(BATCH * STEPS)
    configs = [dict(cfg, **train(cfg, init, x, y)) for cfg in CONFIGS]
    result = {"generator": "scripts/make_golden.py", "torch": torch.__version__,
              "model": "lenet5", "batch": BATCH, "steps": STEPS,
              "init_weights": "lenet5_init.safetensors", "configs": configs}
    with open(os.path.join(OUT, "lenet5_losses.json"), "w") as f:
        f.write(json.dumps(result, indent=2) + "\n")
    for c in configs:
        print(c["name"], c["losses"][:3])


if __name__ == "__main__":
    main()
