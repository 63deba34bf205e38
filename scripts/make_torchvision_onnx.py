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

  /usr/bin/python3 scripts/make_torchvision_onnx.py OUT_DIR [--models resnet18,vgg16] [--batch 2]
  /usr/bin/python3 scripts/make_torchvision_onnx.py --small tests/fixtures/onnx
(--small: the committed stage1_ops.onnx, a 8-channel net with one of each op and pattern the
importer's stage 1 parses, for tests/models/onnx_parse_test.cpp.)
Then: CNNMEM_ONNX_FIXTURES=OUT_DIR build/cnnmem_tests --gtest_also_run_disabled_tests \
        --gtest_filter='OnnxFixtures.DISABLED_*'
"""
import argparse
import os
import sys
import time

import torch
import torchvision

from make_onnx_fixtures import write_safetensors

MODELS = [
    "alexnet", "vgg16", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "googlenet", "inception_v3",
    "densenet121", "squeezenet1_1", "efficientnet_b0", "shufflenet_v2_x1_0", "regnet_y_400mf",
    "convnext_tiny", "mnasnet1_0", "fcn_resnet50", "lraspp_mobilenet_v3_large",
]
SEGMENTATION = {"fcn_resnet50", "lraspp_mobilenet_v3_large"}


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


class Stage1Ops(torch.nn.Module):
    """One of each op and export pattern stage 1 parses, on 8 channels of 8x8."""

    def __init__(self):
        super().__init__()
        from torchvision.models.convnext import CNBlock, LayerNorm2d
        nn = torch.nn
        self.conv = nn.Conv2d(3, 8, (3, 1), padding=(1, 0), bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.ln = LayerNorm2d(8, eps=1e-6)
        self.block = CNBlock(8, 1e-6, 0.0)
        self.gn = nn.GroupNorm(2, 8)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.se1 = nn.Conv2d(8, 4, 1)
        self.se2 = nn.Conv2d(4, 8, 1)
        self.up = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.prelu = nn.PReLU(8)
        self.acts = nn.Sequential(nn.GELU(), nn.SiLU(), nn.Hardswish(), nn.LeakyReLU(0.1),
                                  nn.ELU(), nn.Tanh(), nn.Sigmoid())

    def forward(self, x):
        from torchvision.models.shufflenetv2 import channel_shuffle
        F = torch.nn.functional
        y = self.ln(torch.relu(self.bn(self.conv(x))))
        y = self.inorm(self.gn(self.block(y)))
        y = channel_shuffle(y, 2)
        s = torch.relu(self.se1(y.mean((2, 3), keepdim=True)))
        y = y * F.hardsigmoid(self.se2(s))
        a, b = y.chunk(2, dim=1)
        y = torch.cat([b, a], 1)
        z = self.pool(self.up(y))  # 16x16 -> 8x8 (ceil)
        z = F.interpolate(z, size=y.shape[-2:], mode="bilinear", align_corners=False)
        z = F.pad(self.prelu(z + y), (1, 1, 1, 1), mode="reflect")
        return self.acts(z)


def export_small(out_dir):
    torch.manual_seed(0)
    model = Stage1Ops().eval()
    x = torch.randn(1, 3, 8, 8)
    torch.onnx.export(model, x, os.path.join(out_dir, "stage1_ops.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--small", action="store_true", help="only the committed stage1_ops.onnx")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--batch", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    if args.small:
        export_small(args.out_dir)
        return
    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit(f"unknown model {name} (one of {', '.join(MODELS)})")
        start = time.time()
        params = export(name, args.out_dir, args.batch)
        print(f"{name}: {params} parameters, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
