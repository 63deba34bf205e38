#include "layers/prelu.h"

#include <cmath>

#include "framework/error.h"

namespace cnnmem {

using dnnl::memory;

namespace {

bool is_ref(const char* impl) { return std::string(impl).find("ref") != std::string::npos; }

// `md` is a dense layout of its dims that the layers produce (no view with a parent's strides).
bool dense(const memory::desc& md) {
  const memory::dims& d = md.dims();
  if (d.size() == 2) return md == memory::desc(d, memory::data_type::f32, memory::format_tag::ab);
  if (d.size() != 4) return false;
  for (const auto tag : {memory::format_tag::abcd, memory::format_tag::acdb,
                         memory::format_tag::aBcd16b, memory::format_tag::aBcd8b}) {
    if (md == memory::desc(d, memory::data_type::f32, tag)) return true;
  }
  return false;
}

memory::desc plain(const memory::dims& d) {
  return memory::desc(d, memory::data_type::f32,
                      d.size() == 2 ? memory::format_tag::ab : memory::format_tag::abcd);
}

}  // namespace

PRelu::PRelu(std::string name, int64_t slopes, float init, std::string weight_name)
    : Layer(std::move(name)), slopes_(slopes), init_(init), weight_name_(std::move(weight_name)) {
  if (slopes <= 0) {
    throw Error(error_prefix() + "the number of slopes must be 1 or the input's channels, got " +
                std::to_string(slopes));
  }
  if (!std::isfinite(init)) {
    throw Error(error_prefix() + "the initial slope must be a finite number (PyTorch's is 0.25)");
  }
  if (weight_name_.empty()) weight_name_ = this->name() + ".weight";
}

Dims PRelu::infer(const std::vector<Dims>& in) const {
  if (in.size() != 1) {
    throw Error(error_prefix() + "expects one input, got " + std::to_string(in.size()));
  }
  const Dims& x = in[0];
  if (x.size() != 3 && x.size() != 1) {
    throw Error(error_prefix() + "expects a CxHxW or F input, got " + dims_str(x));
  }
  if (slopes_ != 1 && x[0] != slopes_) {
    throw Error(error_prefix() + "has " + std::to_string(slopes_) + " slopes, the input " +
                dims_str(x) + " has " + std::to_string(x[0]) +
                " channels; use one slope or one per channel");
  }
  return x;
}

std::vector<ParamDecl> PRelu::params(const std::vector<Dims>& /*in*/) const {
  return {{weight_name_, {slopes_}, 1}};
}

double PRelu::flops(const std::vector<Dims>& /*in*/, const Dims& out) const {
  return static_cast<double>(dims_product(out));
}

TensorRef PRelu::data_view(const TensorRef& t) const {
  if (slopes_ != 1) return t;
  const auto elements = static_cast<memory::dim>(t.md.get_size() / sizeof(float));
  return {t.buffer, memory::desc({1, 1, elements}, memory::data_type::f32, memory::format_tag::abc),
          t.offset};
}

TensorRef PRelu::plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) {
  const Phase phase = Phase::kForward;
  const Tag copy_tag = b.training() ? Tag::kActivation : Tag::kWorkspace;
  const auto prop =
      b.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const memory::dims& d = in[0].md.dims();
  CNNMEM_CHECK(d.size() == 2 || d.size() == 4);
  src_ = dense(in[0].md) ? in[0] : b.reorder_to(in[0], plain(d), name() + ".src", copy_tag, phase);
  // The slope: 1 x 1 x 1 against the flat view, or per channel in the layout oneDNN picks.
  memory::dims slope_dims(d.size(), 1);
  slope_dims[1] = slopes_;
  const memory::desc slope_md =
      slopes_ == 1 ? memory::desc({1, 1, 1}, memory::data_type::f32, memory::format_tag::abc)
                   : memory::desc(slope_dims, memory::data_type::f32, memory::format_tag::any);
  const auto make_pd = [&] {
    fwd_pd_.emplace(dnnl::prelu_forward::desc(prop, data_view(src_).md, slope_md), b.attr(),
                    b.engine());
  };
  make_pd();
  if (is_ref(fwd_pd_->impl_info_str()) && d.size() == 4) {
    // oneDNN 2.6 runs prelu on nChw8c with its reference kernel only.
    src_ = b.reorder_to(in[0], memory::desc(d, memory::data_type::f32, memory::format_tag::acdb),
                        name() + ".src", copy_tag, phase);
    make_pd();
  }
  slope_ = b.param(params({})[0], fwd_pd_->weights_desc(), init_);
  in_place_ = !b.training() && b.can_overwrite(src_.buffer);
  const TensorRef dst = in_place_ ? src_ : b.book(name() + ".dst", Tag::kActivation, src_.md);
  b.add_op(name() + ".forward", phase,
           {b.call<dnnl::prelu_forward>(*fwd_pd_, {{DNNL_ARG_SRC, data_view(src_)},
                                                   {DNNL_ARG_WEIGHTS, {slope_.weight, slope_.md}},
                                                   {DNNL_ARG_DST, data_view(dst)}})},
           {}, {}, static_cast<double>(src_.md.get_size()) / sizeof(float));
  if (b.training()) b.mark_saved(src_.buffer);
  return dst;
}

std::vector<TensorRef> PRelu::plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                            const std::vector<bool>& need) {
  CNNMEM_CHECK(fwd_pd_.has_value());
  const Phase phase = Phase::kBackward;
  // Concrete layouts (the forward's): with format_tag::any oneDNN 2.6 picks its reference kernel.
  const TensorRef dd =
      b.reorder_to(diff_dst, src_.md, name() + ".diff_dst", Tag::kActivationGrad, phase);
  const TensorRef diff_src =
      b.can_overwrite(dd.buffer)
          ? dd
          : b.book(name() + ".diff_src", need[0] ? Tag::kActivationGrad : Tag::kWorkspace, src_.md);
  const memory::desc& data_md = data_view(src_).md;
  const dnnl::prelu_backward::primitive_desc pd(
      dnnl::prelu_backward::desc(data_md, slope_.md, data_md, slope_.md), b.attr(), b.engine(),
      *fwd_pd_);
  b.add_op(name() + ".backward", phase,
           {b.call<dnnl::prelu_backward>(pd, {{DNNL_ARG_SRC, data_view(src_)},
                                              {DNNL_ARG_WEIGHTS, {slope_.weight, slope_.md}},
                                              {DNNL_ARG_DIFF_DST, data_view(dd)},
                                              {DNNL_ARG_DIFF_SRC, data_view(diff_src)},
                                              {DNNL_ARG_DIFF_WEIGHTS, {slope_.grad, slope_.md}}})},
           {}, {}, 3.0 * static_cast<double>(src_.md.get_size()) / sizeof(float));
  if (!need[0]) return {TensorRef{}};
  return {diff_src};
}

}  // namespace cnnmem
