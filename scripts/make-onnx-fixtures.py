#!/usr/bin/env python3
"""Exports the torchvision models of issue 16 to ONNX for cnnmem's importer (not committed).

For each model (seeded random weights, BatchNorm running statistics made non-trivial by a few
training-mode forwards on random data, then eval mode), it writes into OUT_DIR:
  <name>_eval.onnx         torch.onnx.export(..., opset_version=13) as users do: eval mode, the
                           default training=EVAL, so BatchNorm is folded into the convolutions
  <name>_preserve.onnx     the same with training=TrainingMode.PRESERVE and
                           do_constant_folding=False: BatchNormalization nodes are kept
  <name>_io.safetensors    "input" (N, C, H, W) and "output": PyTorch's eval-mode output
  <name>_params.txt        PyTorch's parameter count
and <name>_eval_io.safetensors / <name>_preserve_io.safetensors / *_params.txt links, so that
CNNMEM_ONNX_MODEL=OUT_DIR/<name>_eval works for the test that reads one model.
Segmentation models (fcn_resnet50, lraspp_mobilenet_v3_large) return their "out" tensor.
Not here: tests; PyTorch and torchvision are used only to make fixtures.

  /usr/bin/python3 scripts/make-onnx-fixtures.py OUT_DIR [--models resnet18,vgg16] [--batch 2]
Then: CNNMEM_ONNX_FIXTURES=OUT_DIR build/cnnmem_tests --gtest_also_run_disabled_tests \
        --gtest_filter='OnnxFixtures.DISABLED_*'
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torchvision

MODELS = [
    "alexnet", "vgg16", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "googlenet", "inception_v3",
    "densenet121", "squeezenet1_1", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_400mf",
    "convnext_tiny", "mnasnet1_0", "fcn_resnet50", "lraspp_mobilenet_v3_large",
]
SEGMENTATION = {"fcn_resnet50", "lraspp_mobilenet_v3_large"}


def write_safetensors(path, tensors):
    """F32 tensors, sorted by name, as the reference implementation lays them out."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class OutOnly(torch.nn.Module):
    """A segmentation model's dict output reduced to its "out" tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def build(name):
    if name in SEGMENTATION:
        kwargs = {"weights": None, "weights_backbone": None}
        if name == "fcn_resnet50":
            kwargs["aux_loss"] = False
        return OutOnly(getattr(torchvision.models.segmentation, name)(**kwargs))
    kwargs = {"weights": None}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    return getattr(torchvision.models, name)(**kwargs)


def link(out_dir, target, name):
    path = os.path.join(out_dir, name)
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(target, path)


def export(name, out_dir, batch):
    torch.manual_seed(0)
    model = build(name)
    size = 299 if name == "inception_v3" else 224
    x = torch.randn(batch, 3, size, size)
    model.train()
    with torch.no_grad():  # non-trivial running statistics
        for _ in range(2):
            model(torch.randn(2, 3, size, size))
    model.eval()
    with torch.no_grad():
        y = model(x)
    params = sum(p.numel() for p in model.parameters())
    write_safetensors(os.path.join(out_dir, name + "_io.safetensors"), {"input": x, "output": y})
    with open(os.path.join(out_dir, name + "_params.txt"), "w") as f:
        f.write(f"{params}\n")
    dynamic = {"input": {0: "N"}, "output": {0: "N"}}
    for mode, extra in (("eval", {}),
                        ("preserve", {"training": torch.onnx.TrainingMode.PRESERVE,
                                      "do_constant_folding": False})):
        torch.onnx.export(model, x, os.path.join(out_dir, f"{name}_{mode}.onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes=dynamic, **extra)
        link(out_dir, name + "_io.safetensors", f"{name}_{mode}_io.safetensors")
        link(out_dir, name + "_params.txt", f"{name}_{mode}_params.txt")
    return params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--batch", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit(f"unknown model {name} (one of {', '.join(MODELS)})")
        start = time.time()
        params = export(name, args.out_dir, args.batch)
        print(f"{name}: {params} parameters, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
