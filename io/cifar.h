// CIFAR-10 and CIFAR-100 readers: the binary versions as distributed (cifar-10-binary.tar.gz and
// cifar-100-binary.tar.gz, unpacked).
//
// A batch file is a run of fixed-size records, nothing else: CIFAR-10 records are 1 label byte +
// 3072 pixel bytes, CIFAR-100 records 1 coarse label byte + 1 fine label byte + 3072 pixel bytes.
// The pixels are three 32x32 planes (R, G, B), each row-major: already (C, H, W).
//   CIFAR-10  (cifar-10-batches-bin): data_batch_1.bin ... data_batch_5.bin (train, 50000 images),
//             test_batch.bin (test, 10000); 10 classes.
//   CIFAR-100 (cifar-100-binary): train.bin (50000), test.bin (10000); 100 fine classes or 20
//             coarse ones.
// Not here: the Python-pickle versions, the class names (batches.meta.txt), normalisation,
// augmentation or batching.
//
// Usage:
//   cnnmem::ImageData train = cnnmem::read_cifar("/data/cifar-10-batches-bin", 10, "train");
//   // train.count 50000, channels 3, height 32, width 32, classes 10; train.pixels (N, C, H, W)
//   cnnmem::ImageData coarse = cnnmem::read_cifar("/data", 100, "test", /*coarse=*/true);
//   cnnmem::ImageData one = cnnmem::parse_cifar(bytes, "data_batch_1.bin", 10);  // no file
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/image_data.h"

namespace cnnmem {

// Parses one batch file held in memory; `name` names it in messages. `classes` is 10 (CIFAR-10)
// or 100 (CIFAR-100); with `coarse` (CIFAR-100 only) the labels are the 20 superclasses, else the
// 100 fine classes. Throws cnnmem::Error for bad arguments, an empty input, a size that is not a
// whole number of records, or a label out of range (naming the record and value).
ImageData parse_cifar(std::span<const uint8_t> bytes, const std::string& name, int classes,
                      bool coarse = false);

// Reads the "train" or "test" split of CIFAR-10 (classes = 10) or CIFAR-100 (classes = 100) from
// `dir`, which holds the batch files or the distributed folder that does (cifar-10-batches-bin,
// cifar-100-binary). The train batches are concatenated in order. Throws cnnmem::Error for bad
// arguments, a missing file (saying what the directory must hold), or any error of parse_cifar.
ImageData read_cifar(const std::string& dir, int classes, const std::string& split,
                     bool coarse = false);

}  // namespace cnnmem
