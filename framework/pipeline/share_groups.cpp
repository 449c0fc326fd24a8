#include "pipeline/share_groups.hpp"

#include <map>
#include <utility>

#include "pipeline/channel_axis.hpp"

namespace qf::pipeline {

namespace {

// Union-find over point indices.
struct Groups {
  std::vector<size_t> parent;
  explicit Groups(size_t n) : parent(n) {
    for (size_t x = 0; x < n; ++x) parent[x] = x;
  }
  size_t find(size_t x) { return parent[x] == x ? x : parent[x] = find(parent[x]); }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
};

// Joins the points each requantizing node ties together; false when no node ties two points.
bool join_requantized_points(const Graph& g, const QuantPlan& plan, Groups& groups) {
  std::map<std::pair<size_t, size_t>, std::vector<size_t>> points_of_use;  // (node, input) -> points
  std::map<std::string, std::vector<size_t>> points_of_tensor;
  for (size_t x = 0; x < plan.points.size(); ++x) {
    for (const auto& use : plan.points[x].uses) points_of_use[use].push_back(x);
    points_of_tensor[plan.points[x].tensor].push_back(x);
  }
  bool any = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const uint32_t rule = plan.placement[i].requantize;
    if (rule == QF_REQUANT_NONE || !plan.placement[i].supported) continue;
    std::vector<size_t> members;
    for (size_t k = 0; k < g.nodes[i].inputs.size(); ++k)
      if (const auto it = points_of_use.find({i, k}); it != points_of_use.end())
        members.insert(members.end(), it->second.begin(), it->second.end());
    if (rule == QF_REQUANT_SHARED_SCALE)
      for (const auto& out : g.nodes[i].outputs)
        if (const auto it = points_of_tensor.find(out); it != points_of_tensor.end())
          members.insert(members.end(), it->second.begin(), it->second.end());
    for (size_t m = 1; m < members.size(); ++m) groups.join(members[m], members[0]);
    any = any || members.size() > 1;
  }
  return any;
}

}  // namespace

void assign_share_groups(const Graph& g, QuantPlan& plan) {
  Groups groups(plan.points.size());
  if (!join_requantized_points(g, plan, groups)) return;
  std::map<size_t, std::vector<size_t>> by_root;
  for (size_t x = 0; x < plan.points.size(); ++x) by_root[groups.find(x)].push_back(x);
  int32_t next = 0;
  for (const auto& [root, members] : by_root) {
    if (members.size() < 2) continue;
    for (size_t x : members) {
      plan.points[x].share_group = next;
      plan.points[x].channel_axis = kNoChannelAxis;
    }
    ++next;
  }
}

}  // namespace qf::pipeline
