#!/usr/bin/env python3
"""Makes the ONNX import fixtures of tests/models/onnx_import_test.cpp with PyTorch 1.13.

For vgg-mini (cnnmem's models/zoo.h structure, as an nn.Sequential) and a small residual net
with BatchNorm (two resnet-style basic blocks, one with a 1x1 downsample, on 3x16x16), with
seeded weights and BatchNorm running statistics, it writes into tests/fixtures/onnx/:
  <name>.onnx                 torch.onnx.export, opset 13, eval mode, BatchNorm kept (not folded
                              into the convolutions: training=PRESERVE on a model in eval mode)
  <name>_io.safetensors       "input" (N, C, H, W), "output" (N, classes): PyTorch's eval output
  <name>_params.txt           the parameter count
Not here: tests; PyTorch is used only to make fixtures.

  /usr/bin/python3 scripts/make_onnx_fixtures.py                 # the committed fixtures
  /usr/bin/python3 scripts/make_onnx_fixtures.py --resnet18 DIR  # torchvision's resnet18 in DIR
(torchvision.models.resnet18 when torchvision is installed, else the same network by hand;
45 MB, so it is not committed: scripts/check_onnx_resnet18.sh uses it.)
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")


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


class VggMini(nn.Module):
    """cnnmem's vgg-mini (models/zoo.h), with torchvision's module names."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class SmallResNet(nn.Module):
    """resnet-style: conv-bn-relu stem, max-pool, two basic blocks, global pool, fc."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ResNet18(nn.Module):
    """torchvision's resnet18 (same module names, 11,689,512 parameters), without torchvision."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, planes, stride),
                                                         BasicBlock(planes, planes, 1)))
            cin = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomize_bn(model, gen):
    """Running statistics and affine parameters away from their defaults, so that each matters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)


def export(model, input_shape, out_dir, name, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    randomize_bn(model, gen)
    model.eval()
    x = torch.rand((batch,) + input_shape, generator=gen) * 2 - 1
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["output"], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    write_safetensors(os.path.join(out_dir, name + "_io.safetensors"), {"input": x, "output": y})
    params = sum(p.numel() for p in model.parameters())
    with open(os.path.join(out_dir, name + "_params.txt"), "w") as f:
        f.write(f"{params}\n")
    print(f"{path}: {params} parameters, output {tuple(y.shape)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resnet18", metavar="DIR", help="export torchvision's resnet18 into DIR")
    args = ap.parse_args()
    if args.resnet18:
        torch.manual_seed(0)
        try:
            import torchvision
            model = torchvision.models.resnet18()
        except ImportError:  # not installed here: the same structure and names, by hand
            model = ResNet18()
        os.makedirs(args.resnet18, exist_ok=True)
        export(model, (3, 224, 224), args.resnet18, "resnet18", batch=2)
        return
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    export(VggMini(), (1, 28, 28), OUT, "vgg_mini")
    torch.manual_seed(2)
    export(SmallResNet(), (3, 16, 16), OUT, "small_resnet")


if __name__ == "__main__":
    main()
