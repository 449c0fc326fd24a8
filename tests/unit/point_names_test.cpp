// pipeline/point_names: the node_config name of a quantization point.
#include "pipeline/point_names.hpp"

#include <gtest/gtest.h>

namespace qf::pipeline {
namespace {

Graph two_readers_graph() {
  Graph g;
  g.nodes.push_back(Node{"Conv_47", "Conv", "", {"x", "w"}, {"1184"}, {}, ""});
  g.nodes.push_back(Node{"Relu_3", "Relu", "", {"1184"}, {"r"}, {}, ""});
  g.nodes.push_back(Node{"Add_5", "Add", "", {"r", "1184"}, {"y"}, {}, ""});
  return g;
}

TEST(PointNames, NamesTheFirstReaderWithInputOpAndTensor) {
  const Graph g = two_readers_graph();
  QuantPoint q;
  q.tensor = "1184";
  q.uses = {{1, 0}, {2, 1}};
  const PointName n = point_name(g, q);
  EXPECT_EQ(n.node, "Relu_3");
  EXPECT_EQ(n.input, 0u);
  EXPECT_EQ(n.op_type, "Relu");
  EXPECT_EQ(n.more_readers, 1u);
  EXPECT_EQ(format_point_name(n), "Relu_3 input0 (Relu) [tensor 1184] +1 reader");
  EXPECT_EQ(node_config_entry(g, q, quant::QType::Int16).dump(),
            R"({"Add_5":{"input1":"int16"},"Relu_3":{"input0":"int16"}})");
}

TEST(PointNames, WeightPointNamesItsConvInput) {
  const Graph g = two_readers_graph();
  QuantPoint q;
  q.tensor = "w";
  q.is_weight = true;
  q.uses = {{0, 1}};
  EXPECT_EQ(format_point_name(g, q), "Conv_47 input1 (Conv) [tensor w]");
}

TEST(PointNames, GraphOutputNamesItsProducer) {
  const Graph g = two_readers_graph();
  QuantPoint q;
  q.tensor = "y";
  q.graph_output = true;
  EXPECT_EQ(format_point_name(g, q), "Add_5 output0 (Add) [tensor y]");
  EXPECT_TRUE(node_config_entry(g, q, quant::QType::Int16).empty());
}

}  // namespace
}  // namespace qf::pipeline
