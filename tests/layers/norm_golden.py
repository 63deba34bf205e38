# Golden values for tests/layers/layer_norm_test.cpp and group_norm_test.cpp, from PyTorch.
# Usage: /usr/bin/python3 tests/layers/norm_golden.py   (prints C++ initialisers to paste)
# Inputs and parameters follow the formulas the tests use:
#   x[i] = 2 sin(0.7 i + 0.3) + 0.1 i (flat NCHW index i), weight[c] = 1 + 0.1 c,
#   bias[c] = 0.05 c - 0.1.
# Not here: anything the library runs.
import math

import torch
import torchvision.models.convnext as convnext


def tensor(shape):
    n = math.prod(shape)
    v = [2 * math.sin(0.7 * i + 0.3) + 0.1 * i for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(shape)


def affine(module, c):
    with torch.no_grad():
        module.weight.copy_(torch.tensor([1 + 0.1 * k for k in range(c)]))
        module.bias.copy_(torch.tensor([0.05 * k - 0.1 for k in range(c)]))
    return module


def show(name, y):
    vals = ", ".join(f"{v:.7g}f" for v in y.detach().flatten().tolist())
    print(f"// {name}\n{{{vals}}}\n")


show("LayerNorm2d(3, eps=1e-6) on (2, 3, 2, 2)",
     affine(convnext.LayerNorm2d(3, eps=1e-6), 3)(tensor((2, 3, 2, 2))))
show("LayerNorm(5) on (2, 5)", affine(torch.nn.LayerNorm(5), 5)(tensor((2, 5))))
show("GroupNorm(2, 4) on (2, 4, 2, 3)",
     affine(torch.nn.GroupNorm(2, 4), 4)(tensor((2, 4, 2, 3))))
show("InstanceNorm2d(3, affine=True) on (2, 3, 2, 2)",
     affine(torch.nn.InstanceNorm2d(3, affine=True), 3)(tensor((2, 3, 2, 2))))
