// The layer interface. A layer is constructed with its hyper-parameters (validated there),
// infers its output shape, declares its parameters, and plans its forward and backward ops into
// a StepBuilder: it creates oneDNN primitive descriptors and books every buffer it needs with a
// tag. It never owns bytes and never computes offsets.
//
// Life cycle: construct -> infer (graph) -> plan_forward / plan_backward (executor) -> run
// (the executor runs the planned ops; layers have no run method of their own).
#pragma once

#include <string>
#include <vector>

#include "framework/graph.h"
#include "framework/step_builder.h"

namespace cnnmem {

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;

  // Output dims of one sample; throws Error naming the layer and the shapes.
  virtual Dims infer(const std::vector<Dims>& in) const = 0;
  virtual std::vector<ParamDecl> params(const std::vector<Dims>& /*in*/) const { return {}; }
  // Multiply-adds x2 of the forward pass for one sample.
  virtual double flops(const std::vector<Dims>& /*in*/, const Dims& /*out*/) const { return 0; }

  // Books outputs and adds forward ops; returns the output tensor. `in` are the input tensors
  // in the layouts their producers chose.
  virtual TensorRef plan_forward(StepBuilder& b, const std::vector<TensorRef>& in) = 0;
  // Adds backward ops. Returns the gradient of each input (kNoBuffer where `need[i]` is false).
  virtual std::vector<TensorRef> plan_backward(StepBuilder& b, const TensorRef& diff_dst,
                                               const std::vector<bool>& need) = 0;

  // What the executor needs to know about a layer, without knowing its type.
  // The training forward computes something else than inference (dropout, batch statistics), so
  // evaluation needs an inference pass of its own.
  virtual bool forward_differs_in_training() const { return false; }
  // Training: the executor's step number and seed, read at every run by layers whose forward
  // draws random numbers (dropout), so that a recomputed forward repeats the draw.
  virtual void bind_step_counter(const int64_t* /*step*/, const uint64_t* /*seed*/) {}
  // The layer writes its output over its input's buffer (an in-place ReLU), as planned.
  virtual bool writes_over_input() const { return false; }
  // Fusing an elementwise ReLU into the producer: `is_relu` marks the ReLU that can be absorbed,
  // `absorbs_relu` the producer that can apply it as a post-op. The executor pairs them and
  // calls set_relu_fused on both, before planning.
  virtual bool is_relu() const { return false; }
  virtual bool absorbs_relu() const { return false; }
  virtual void set_relu_fused(bool /*on*/) {}
  // In-place concatenation (framework/concat_views.h): a layer that concatenates its inputs along
  // channels and can hold them in its own output buffer, and a producer that can write its output
  // into a view of a buffer another layer owns (StepBuilder::take_output_view).
  virtual bool concatenates_channels() const { return false; }
  virtual bool writes_into_view() const { return false; }

 protected:
  std::string error_prefix() const { return std::string(kind()) + " \"" + name_ + "\": "; }

 private:
  std::string name_;
};

}  // namespace cnnmem
