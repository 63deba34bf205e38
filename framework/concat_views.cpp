#include "framework/concat_views.h"

#include "framework/error.h"
#include "framework/layer.h"

namespace cnnmem {

using dnnl::memory;

namespace {

// oneDNN's f32 convolutions block channels by the vector width: 16 with AVX-512 (nChw16c), 8 with
// AVX2 (nChw8c). A root in the other block size would cost a reorder before every reader.
int64_t channel_block() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_mic:
    case dnnl::cpu_isa::avx512_mic_4ops:
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return 16;
    default:
      return 8;
  }
}

memory::format_tag blocked_tag(int64_t block) {
  return block == 16 ? memory::format_tag::nChw16c : memory::format_tag::nChw8c;
}

}  // namespace

std::vector<ChannelPlacement> place_concat_inputs(const Graph& graph, int64_t batch) {
  const auto& nodes = graph.nodes();
  std::vector<ChannelPlacement> places(nodes.size());
  if (batch != 1) return places;  // a channel slice of a batch is strided: no jit kernel takes it
  for (size_t i = nodes.size(); i-- > 1;) {
    const Layer& layer = *nodes[i].layer;
    if (!layer.concatenates_channels() || nodes[i].dims.size() != 3) continue;
    const ChannelPlacement self =
        places[i].root >= 0 ? places[i] : ChannelPlacement{static_cast<int>(i), 0};
    int64_t offset = self.offset;
    bool any = false;
    for (int p : nodes[i].inputs) {
      const auto pi = static_cast<size_t>(p);
      const bool free = p != 0 && places[pi].root < 0 && nodes[pi].layer->writes_into_view();
      if (free && (graph.consumers(p) == 1 || offset == 0)) {
        places[pi] = ChannelPlacement{self.root, offset};
        any = true;
      }
      offset += nodes[pi].dims[0];
    }
    if (any || places[i].root >= 0) places[i] = self;
  }
  return places;
}

memory::desc concat_root_md(const Graph& graph, const std::vector<ChannelPlacement>& places,
                            int root, int64_t batch) {
  const Dims& d = graph.nodes()[static_cast<size_t>(root)].dims;
  const int64_t block = channel_block();
  bool blocked = true;
  for (size_t i = 0; i < places.size(); ++i) {
    if (places[i].root != root) continue;
    const int64_t c = graph.nodes()[i].dims[0], o = places[i].offset;
    blocked = blocked && o % block == 0 && (c % block == 0 || o + c == d[0]);
  }
  return memory::desc({batch, d[0], d[1], d[2]}, memory::data_type::f32,
                      blocked ? blocked_tag(block) : memory::format_tag::nchw);
}

TensorRef channel_view(const TensorRef& base, int64_t offset, int64_t channels) {
  const memory::dims d = base.md.dims();
  CNNMEM_CHECK(d.size() == 4 && d[0] == 1 && base.md.data_type() == memory::data_type::f32);
  const auto& blocking = base.md.data.format_desc.blocking;
  const bool blocked = blocking.inner_nblks > 0;
  const int64_t block = blocked ? blocking.inner_blks[0] : 1;
  CNNMEM_CHECK(!blocked || offset % block == 0);
  const memory::desc md({1, channels, d[2], d[3]}, memory::data_type::f32,
                        blocked ? blocked_tag(block) : memory::format_tag::nchw);
  return TensorRef{base.buffer, md,
                   base.offset + offset * d[2] * d[3] * static_cast<int64_t>(sizeof(float))};
}

}  // namespace cnnmem
