// Which model outputs are logits (class scores along the last axis), so the report adds the top1
// metric for them and only them (docs/report.md).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::pipeline {

class Evaluator;

// An output is logits when, on every evaluation sample, it has rank >= 2 and a last axis of >= 2
// entries, and its producer, looking through layout ops (Reshape, Transpose, Flatten, Squeeze,
// Unsqueeze, Identity, Cast) and a constant bias or scale (Add, Sub, Mul, Div with exactly one
// non-constant operand), is MatMul, Gemm, Softmax or LogSoftmax: a classifier or language-model head, or
// its normalised form. A KV cache (Concat), a residual sum (Add of two activations), a box regression
// behind Sigmoid and a conv feature map are not.
bool is_logits(const Graph& graph, const std::string& output, const std::vector<Shape>& shapes);

// The evaluator's scored (float) outputs that are logits, by their shapes on its samples.
std::set<std::string> logits_outputs(const Graph& graph, const Evaluator& evaluator);

}  // namespace qf::pipeline
