#!/usr/bin/python3
# Writes PyTorch's inference of a randomly initialised torchvision 0.14 model for
# tests/models/torchvision_values_test.cpp: <dir>/<model>.safetensors (the whole state_dict as
# F32, BatchNorm statistics and affines, and ConvNeXt's layer_scale, randomised so that they
# matter) and <dir>/<model>.io.safetensors ("input" 2x3xSxS, "output" 2x1000, eval mode; for
# the segmentation models, built with weights=None, weights_backbone=None, out["out"] 2x21xSxS).
# safetensors is written by hand (torch 1.13 has no module for it): io/safetensors.h's format.
# Usage: /usr/bin/python3 tests/models/torchvision_values.py MODEL DIR SIZE
import json
import struct
import sys

import torch
import torchvision
import torchvision.models.segmentation

# cnnmem's googlenet and inception_v3 leave out the auxiliary classifiers (models/torchvision.h).
KWARGS = {"googlenet": {"aux_logits": False}, "inception_v3": {"aux_logits": False}}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    name, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.manual_seed(0)
    segmentation = name in ("fcn_resnet50", "lraspp_mobilenet_v3_large")
    if segmentation:
        model = getattr(torchvision.models.segmentation, name)(weights=None,
                                                               weights_backbone=None)
    else:
        model = getattr(torchvision.models, name)(**KWARGS.get(name, {}))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        for key, p in model.named_parameters():
            if key.endswith("layer_scale"):
                p.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        y = model(x)["out"] if segmentation else model(x)
    write_safetensors("%s/%s.safetensors" % (out, name), dict(model.state_dict()))
    write_safetensors("%s/%s.io.safetensors" % (out, name), {"input": x, "output": y})


main()
