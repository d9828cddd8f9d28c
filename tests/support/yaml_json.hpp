// YAML → JSON text for tests that read the DIP OpenAPI examples (scalars typed as YAML 1.2's core
// schema would: null, booleans and JSON-shaped numbers bare, everything else a string).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace flowguard::testing {
void yaml_to_json(const YAML::Node& node, std::string& out);
}
