// The bound on YAML every flowguard loader applies (the registry, the server config): how many nodes
// a reader walking the document meets, aliases expanded. yaml-cpp shares an anchored node between its
// aliases, so loading is cheap, but anything that walks the tree (the registry's YAML -> JSON, a config
// list) visits an alias's whole subtree each time: nine aliases of nine aliases of ... ("billion
// laughs") turned a 549-byte registry into 4.5 GB. Header-only so the server and the registry share
// one definition without the server linking the registry.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace flowguard::config {

// Nodes a document of `bytes` bytes may expand to. Without aliases a node takes at least a byte of
// text, so this leaves room for twice the text's worth of alias expansion plus a fixed allowance for
// small files that share blocks through anchors.
inline std::size_t yaml_node_limit(std::size_t bytes) noexcept { return 2 * bytes + 100'000; }

struct YamlBoundsResult {
  bool ok = true;
  std::size_t nodes = 0;   // nodes counted (stops just past the limit)
  YAML::Mark mark;         // where the limit was passed: the node (or the alias's anchor) being entered
};

// Walks `root` as a tree (an alias counts its subtree every time it is used) and stops once more than
// `limit` nodes are met. Iterative, so deep nesting cannot overflow the stack here.
inline YamlBoundsResult check_yaml_nodes(const YAML::Node& root, std::size_t limit) {
  YamlBoundsResult r;
  std::vector<YAML::Node> pending;
  pending.push_back(root);
  while (!pending.empty()) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    if (++r.nodes > limit) {
      r.ok = false;
      r.mark = node.Mark();
      return r;
    }
    if (node.IsSequence()) {
      for (const auto& item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        pending.push_back(kv.first);
        pending.push_back(kv.second);
      }
    }
  }
  return r;
}

// The sentence for a document over the limit (the caller adds file:line:col).
inline std::string yaml_nodes_message(std::size_t limit) {
  return "the YAML expands to more than " + std::to_string(limit) +
         " nodes (aliases counted each time they are used); expected a document whose aliases do not multiply "
         "its size (a \"billion laughs\" document)";
}

}  // namespace flowguard::config
