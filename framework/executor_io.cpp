// Executor: host tensor I/O. Weights, state tensors, gradients and optimizer state move between
// the arena's (possibly blocked) layouts and PyTorch's plain ones through oneDNN reorders.
#include <cstring>
#include <random>

#include "framework/error.h"
#include "framework/executor.h"
#include "framework/optimizer.h"

namespace cnnmem {

using dnnl::memory;

namespace {

memory::desc plain_desc(const memory::dims& dims) {
  static const memory::format_tag tags[] = {memory::format_tag::undef, memory::format_tag::a,
                                            memory::format_tag::ab,    memory::format_tag::abc,
                                            memory::format_tag::abcd,  memory::format_tag::abcde};
  CNNMEM_CHECK(!dims.empty() && dims.size() <= 5);
  return memory::desc(dims, memory::data_type::f32, tags[dims.size()]);
}

}  // namespace

NamedTensor Executor::read_tensor(const std::string& name) const {
  CNNMEM_CHECK(bound());
  TensorRef ref = name == "output" ? step_.output : TensorRef{};
  for (const auto& [k, r] : step_.kept) {
    if (k == name) ref = r;
  }
  if (ref.buffer == kNoBuffer) {
    throw Error("tensor \"" + name + "\" was not kept: pass " +
                setting("keep", "its name among the tensors to keep", name));
  }
  NamedTensor t;
  t.name = name;
  t.shape = ref.md.dims();
  t.data.resize(static_cast<size_t>(dims_product(t.shape)));
  dnnl::stream s(engine_);
  memory src(ref.md, engine_, table_.bytes(ref.buffer) + ref.offset);
  memory dst(plain_desc(t.shape), engine_, t.data.data());
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
  return t;
}

void Executor::write_param(const ParamBinding& p, const float* plain, int64_t first,
                           int64_t count) {
  memory::desc dst_md = p.md;
  if (first != 0 || count != p.md.dims()[0]) {
    memory::dims dims = p.md.dims(), offsets(dims.size(), 0);
    dims[0] = count;
    offsets[0] = first;
    dst_md = p.md.submemory_desc(dims, offsets);
  }
  memory src(plain_desc(dst_md.dims()), engine_, const_cast<float*>(plain));
  memory dst(dst_md, engine_, table_.bytes(p.weight));
  dnnl::reorder(src, dst).execute(stream_, src, dst);
  stream_.wait();
}

void Executor::read_param(const ParamBinding& p, BufferId id, float* plain) const {
  dnnl::stream s(engine_);
  memory src(p.md, engine_, table_.bytes(id));
  memory dst(plain_desc(p.md.dims()), engine_, plain);
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
}

void Executor::set_seed(uint64_t seed) { context_.dropout_seed = seed; }

void Executor::init_weights(uint64_t seed) {
  CNNMEM_CHECK(bound());
  set_seed(seed);
  std::mt19937_64 rng(seed);
  for (const ParamBinding& p : step_.params) {
    // PyTorch's defaults for conv and linear: weights kaiming_uniform(a=sqrt(5)) and biases
    // both reduce to U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Values are drawn in PyTorch's order.
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
    const auto draw = [&](float* v, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        if (p.init_constant) {
          v[i] = *p.init_constant;  // BatchNorm: weight 1, bias 0; draws no random numbers
          continue;
        }
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
        v[i] = static_cast<float>((2.0 * u - 1.0) * bound);
      }
    };
    const int64_t count = dims_product(p.torch_shape);
    const int64_t rows = p.md.dims()[0];
    // A weight kept in plain layout is drawn in place.
    if (p.md == plain_desc(p.md.dims())) {
      draw(table_.f32(p.weight), count);
      continue;
    }
    // Otherwise the values are drawn in plain layout and reordered. In training the gradient
    // buffer (same size, unused until the first step) holds them, so initialising a large layer
    // needs no heap copy of it (392 MiB for vgg16's first linear layer).
    if (p.grad != kNoBuffer) {
      float* v = table_.f32(p.grad);
      draw(v, count);
      write_param(p, v, 0, rows);
      std::memset(v, 0, p.md.get_size());
      continue;
    }
    // In inference, a few MiB of rows at a time, where the layout's blocks along the outermost
    // dimension divide it (a sub-tensor must start and end on a block).
    int64_t block = 1;
    const dnnl_blocking_desc_t& blocking = p.md.data.format_desc.blocking;
    for (int i = 0; i < blocking.inner_nblks; ++i) {
      if (blocking.inner_idxs[i] == 0) block *= blocking.inner_blks[i];
    }
    const int64_t row = count / rows;
    constexpr int64_t kChunkFloats = int64_t{1} << 20;
    const int64_t step = rows % block == 0
                             ? std::min(rows, std::max(block, kChunkFloats / row / block * block))
                             : rows;
    std::vector<float> heap(static_cast<size_t>(step * row));
    for (int64_t first = 0; first < rows; first += step) {
      const int64_t n = std::min(step, rows - first);
      draw(heap.data(), n * row);
      write_param(p, heap.data(), first, n);
    }
  }
  // State tensors (running mean 0, running variance 1, num_batches_tracked 0).
  for (const StateBinding& s : step_.states) {
    const std::vector<float> v(static_cast<size_t>(dims_product(s.torch_shape)), s.init_value);
    write_state(s, v.data());
  }
}

void Executor::load_weights(const std::vector<NamedTensor>& tensors, const std::string& source) {
  CNNMEM_CHECK(bound());
  // Parameters and state tensors alike, as PyTorch's load_state_dict(strict=True).
  std::vector<std::pair<std::string, Dims>> expected;
  for (const ParamBinding& p : step_.params) expected.emplace_back(p.name, p.torch_shape);
  for (const StateBinding& s : step_.states) expected.emplace_back(s.name, s.torch_shape);
  for (const auto& [name, shape] : expected) {
    const NamedTensor* t = find_tensor(tensors, name);
    if (t == nullptr) {
      throw Error(source + ": tensor \"" + name + "\" is missing; the model expects " +
                  std::to_string(expected.size()) + " tensors named like PyTorch's");
    }
    if (t->shape != shape) {
      throw Error(source + ": tensor \"" + name + "\" has shape " + dims_str(t->shape) +
                  ", the model expects " + dims_str(shape));
    }
  }
  for (const NamedTensor& t : tensors) {
    bool known = false;
    for (const auto& [name, shape] : expected) known = known || name == t.name;
    if (!known) {
      throw Error(source + ": tensor \"" + t.name + "\" is not a parameter of this model");
    }
  }
  for (const ParamBinding& p : step_.params) {
    write_param(p, find_tensor(tensors, p.name)->data.data(), 0, p.md.dims()[0]);
  }
  for (const StateBinding& s : step_.states) {
    write_state(s, find_tensor(tensors, s.name)->data.data());
  }
}

std::vector<NamedTensor> Executor::weights() const {
  std::vector<NamedTensor> out = read_params(false);
  for (const StateBinding& s : step_.states) out.push_back(read_state(s));
  return out;
}

std::vector<NamedTensor> Executor::gradients() const {
  CNNMEM_CHECK_MSG(options_.training, "gradients exist only in training");
  return read_params(true);
}

std::vector<NamedTensor> Executor::read_params(bool grads) const {
  CNNMEM_CHECK(bound());
  std::vector<NamedTensor> out;
  for (const ParamBinding& p : step_.params) {
    NamedTensor t;
    t.name = p.name;
    t.shape = p.torch_shape;
    t.data.resize(static_cast<size_t>(dims_product(p.torch_shape)));
    read_param(p, grads ? p.grad : p.weight, t.data.data());
    out.push_back(std::move(t));
  }
  return out;
}

void Executor::write_state(const StateBinding& s, const float* plain) {
  memory src(plain_desc(s.md.dims()), engine_, const_cast<float*>(plain));
  memory dst(s.md, engine_, table_.bytes(s.buffer));
  dnnl::reorder(src, dst).execute(stream_, src, dst);
  stream_.wait();
}

NamedTensor Executor::read_state(const StateBinding& s) const {
  CNNMEM_CHECK(bound());
  NamedTensor t;
  t.name = s.name;
  t.shape = s.torch_shape;
  t.data.resize(static_cast<size_t>(dims_product(s.torch_shape)));
  dnnl::stream str(engine_);
  memory src(s.md, engine_, table_.bytes(s.buffer));
  memory dst(plain_desc(s.md.dims()), engine_, t.data.data());
  dnnl::reorder(src, dst).execute(str, src, dst);
  str.wait();
  return t;
}

const ParamBinding& Executor::param_of_state(const Buffer& buffer) const {
  // "<optimizer>.<state>.<param>": neither the optimizer's nor the state's name has a dot.
  const size_t first = buffer.name.find('.');
  const size_t second = first == std::string::npos ? first : buffer.name.find('.', first + 1);
  CNNMEM_CHECK_MSG(second != std::string::npos, "optimizer state buffers are named o.s.param");
  const std::string param = buffer.name.substr(second + 1);
  for (const ParamBinding& p : step_.params) {
    if (p.name == param) return p;
  }
  throw InternalError("optimizer state " + buffer.name + " has no parameter " + param);
}

std::vector<NamedTensor> Executor::optimizer_state() const {
  CNNMEM_CHECK(bound());
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < step_.schedule.buffers.size(); ++i) {
    const Buffer& buf = step_.schedule.buffers[i];
    if (buf.tag != Tag::kOptimizerState || !buf.persistent) continue;
    const ParamBinding& p = param_of_state(buf);
    NamedTensor t;
    t.name = buf.name;
    t.shape = p.torch_shape;
    t.data.resize(static_cast<size_t>(dims_product(p.torch_shape)));
    read_param(p, static_cast<BufferId>(i), t.data.data());
    out.push_back(std::move(t));
  }
  return out;
}

void Executor::load_optimizer_state(const std::vector<NamedTensor>& tensors,
                                    const std::string& source) {
  CNNMEM_CHECK(bound());
  size_t expected = 0;
  for (size_t i = 0; i < step_.schedule.buffers.size(); ++i) {
    const Buffer& buf = step_.schedule.buffers[i];
    if (buf.tag != Tag::kOptimizerState || !buf.persistent) continue;
    ++expected;
    const ParamBinding& p = param_of_state(buf);
    const NamedTensor* t = nullptr;
    for (const NamedTensor& c : tensors) {
      if (c.name == buf.name) t = &c;
    }
    if (t == nullptr) {
      throw Error(source + ": optimizer state \"" + buf.name +
                  "\" is missing; it was saved with another optimizer configuration");
    }
    if (t->shape != p.torch_shape) {
      throw Error(source + ": optimizer state \"" + buf.name + "\" has shape " +
                  dims_str(t->shape) + ", the model expects " + dims_str(p.torch_shape));
    }
    memory src(plain_desc(p.md.dims()), engine_, const_cast<float*>(t->data.data()));
    memory dst(p.md, engine_, table_.bytes(static_cast<BufferId>(i)));
    dnnl::reorder(src, dst).execute(stream_, src, dst);
    stream_.wait();
  }
  if (tensors.size() != expected) {
    throw Error(source + ": holds " + std::to_string(tensors.size()) +
                " optimizer state tensors, the optimizer has " + std::to_string(expected) +
                "; it was saved with another optimizer configuration");
  }
}

int64_t Executor::optimizer_step() const { return optimizer_ != nullptr ? optimizer_->step() : 0; }

void Executor::set_optimizer_step(int64_t step) {
  CNNMEM_CHECK_MSG(optimizer_ != nullptr, "an inference pass has no optimizer");
  optimizer_->set_step(step);
}

}  // namespace cnnmem
