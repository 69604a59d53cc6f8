#include "ebb/api/keda_types.h"

#include <algorithm>

namespace ebb::api {

const std::vector<std::string>& keda_trigger_types() {
  // keda-compat §8 (KEDA's scaler builder), sorted; keep sorted for binary_search.
  static const std::vector<std::string> kTypes = {"activemq",
                                                  "apache-kafka",
                                                  "arangodb",
                                                  "artemis-queue",
                                                  "aws-cloudwatch",
                                                  "aws-dynamodb",
                                                  "aws-dynamodb-streams",
                                                  "aws-kinesis-stream",
                                                  "aws-sqs-queue",
                                                  "azure-app-insights",
                                                  "azure-blob",
                                                  "azure-data-explorer",
                                                  "azure-eventhub",
                                                  "azure-log-analytics",
                                                  "azure-monitor",
                                                  "azure-pipelines",
                                                  "azure-queue",
                                                  "azure-servicebus",
                                                  "beanstalkd",
                                                  "cassandra",
                                                  "clickhouse",
                                                  "couchdb",
                                                  "cpu",
                                                  "cron",
                                                  "datadog",
                                                  "dynatrace",
                                                  "elastic-forecast",
                                                  "elasticsearch",
                                                  "etcd",
                                                  "external",
                                                  "external-push",
                                                  "forgejo-runner",
                                                  "gcp-cloudtasks",
                                                  "gcp-pubsub",
                                                  "gcp-spanner",
                                                  "gcp-stackdriver",
                                                  "gcp-storage",
                                                  "github-runner",
                                                  "graphite",
                                                  "huawei-cloudeye",
                                                  "ibmmq",
                                                  "influxdb",
                                                  "kafka",
                                                  "kubernetes-resource",
                                                  "kubernetes-workload",
                                                  "liiklus",
                                                  "loki",
                                                  "memory",
                                                  "metrics-api",
                                                  "mongodb",
                                                  "mssql",
                                                  "mysql",
                                                  "nats-jetstream",
                                                  "new-relic",
                                                  "nsq",
                                                  "opensearch",
                                                  "openstack-metric",
                                                  "openstack-swift",
                                                  "postgresql",
                                                  "predictkube",
                                                  "prometheus",
                                                  "pulsar",
                                                  "rabbitmq",
                                                  "redis",
                                                  "redis-cluster",
                                                  "redis-cluster-streams",
                                                  "redis-sentinel",
                                                  "redis-sentinel-streams",
                                                  "redis-streams",
                                                  "selenium-grid",
                                                  "solace-direct-messaging",
                                                  "solace-event-queue",
                                                  "solarwinds",
                                                  "solr",
                                                  "splunk",
                                                  "splunk-observability",
                                                  "sumologic",
                                                  "temporal"};
  return kTypes;
}

bool is_keda_trigger_type(std::string_view type) {
  const auto& types = keda_trigger_types();
  return std::binary_search(types.begin(), types.end(), type);
}

std::optional<std::string> trigger_type_deprecation(std::string_view type) {
  if (type == "liiklus") return "the liiklus scaler is deprecated in KEDA and will be removed";
  return std::nullopt;
}

std::optional<std::string> trigger_type_removal(std::string_view type) {
  if (type == "stan")
    return "the stan (NATS Streaming) scaler was removed in KEDA v2.19; use nats-jetstream";
  return std::nullopt;
}

}  // namespace ebb::api
