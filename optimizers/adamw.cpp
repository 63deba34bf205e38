#include "optimizers/adamw.h"

namespace cnnmem {

// PyTorch's AdamW differs from Adam in its default weight decay (1e-2, not 0) and in applying
// it to the weights; the rest, validation included, is Adam's.
AdamW::AdamW(const OptimizerConfig& config)
    : Adam(config, "adamw", /*default_weight_decay=*/1e-2, /*decoupled=*/true) {}

}  // namespace cnnmem
