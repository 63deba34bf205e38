#!/usr/bin/python3
# Writes tests/fixtures/torchvision/state_dicts.txt: for each model of the zoo added for
# issue 16, "# <model> <parameter count>" then one "<name> <shape>" line per state_dict entry
# ("P" parameter, "S" buffer), shape as 96x3x4x4 ("-" for a scalar). Read by
# tests/models/torchvision_names_test.cpp.
# Usage: /usr/bin/python3 tests/models/torchvision_state_dicts.py (needs torchvision 0.14).
import os

import torchvision
import torchvision.models.segmentation

MODELS = ["efficientnet_b0", "mobilenet_v3_small", "mobilenet_v3_large", "regnet_y_400mf",
          "mnasnet1_0", "wide_resnet50_2", "resnext50_32x4d", "convnext_tiny",
          "densenet121", "squeezenet1_1", "shufflenet_v2_x1_0", "googlenet", "inception_v3"]
SEGMENTATION = ["fcn_resnet50", "lraspp_mobilenet_v3_large"]  # torchvision.models.segmentation
# cnnmem's googlenet and inception_v3 leave out the auxiliary classifiers (models/torchvision.h).
KWARGS = {"googlenet": {"aux_logits": False}, "inception_v3": {"aux_logits": False}}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torchvision",
                   "state_dicts.txt")
with open(out, "w") as f:
    for name in MODELS + SEGMENTATION:
        if name in SEGMENTATION:  # no pretrained weights, no auxiliary classifier
            m = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None)
        else:
            m = getattr(torchvision.models, name)(**KWARGS.get(name, {}))
        params = dict(m.named_parameters())
        f.write("# %s %d\n" % (name, sum(p.numel() for p in params.values())))
        for key, t in m.state_dict().items():
            shape = "x".join(str(d) for d in t.shape) or "-"
            f.write("%s %s %s\n" % ("P" if key in params else "S", key, shape))
