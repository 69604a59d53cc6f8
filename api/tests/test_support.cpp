#include "test_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ebb::api::test {

std::string read_data_file(std::string_view name) {
  std::ifstream in(std::string(EBB_API_TEST_DATA_DIR) + "/" + std::string(name));
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> strings(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.str());
  return out;
}

std::string scaled_object_yaml(std::string_view spec_body, std::string_view metadata) {
  return "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: " + std::string(metadata) +
         "\nspec:\n" + std::string(spec_body);
}

ScaledObject decode_one_scaled_object(std::string_view yaml) {
  auto docs = decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  INFO(strings(docs[0].errors).size());
  CAPTURE(strings(docs[0].errors));
  REQUIRE(docs[0].ok());
  REQUIRE(docs[0].scaled_object());
  return *docs[0].scaled_object();
}

TriggerAuthentication decode_one_trigger_authentication(std::string_view yaml) {
  auto docs = decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  CAPTURE(strings(docs[0].errors));
  REQUIRE(docs[0].ok());
  REQUIRE(docs[0].trigger_authentication());
  return *docs[0].trigger_authentication();
}

// The traits the scalers registry gives these types (scalers::validation_options() in
// production); api/ itself knows no trigger type.
ValidationOptions test_options() {
  ValidationOptions options;
  options.supported_types = {"cpu", "cron", "kafka", "memory", "rabbitmq", "redis", "redis-streams"};
  options.trigger_traits = [types = options.supported_types](std::string_view t) {
    TriggerTraits traits;
    traits.supported = std::find(types.begin(), types.end(), t) != types.end();
    traits.resource_metric = t == "cpu" || t == "memory";
    traits.cached_metrics = !traits.resource_metric && t != "cron";
    return traits;
  };
  return options;
}

}  // namespace ebb::api::test
