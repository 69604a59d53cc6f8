// The servers scaler integration tests start on loopback ports, one function each: a
// ServerSpec for ebb::test::LocalServer (support.h). Adding a server is one function here and
// its Debian package in scripts/install-deps.sh.
//
//   ebb::test::LocalServer nats(ebb::test::nats_server());
//   ... nats.port(0) (client), nats.port(1) (monitoring); nats.stop(); nats.start();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support.h"

namespace ebb::test {

// A plain HTTP GET on 127.0.0.1:port (HTTP/1.0, no keep-alive) for readiness checks and small
// test fixtures: {status, body}; status 0 when the connection failed.
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path);

// PostgreSQL 15 as the postgres user: port(0); user "postgres" with `password` (scram-sha-256
// over TCP), database "postgres". The data directory is initialised once (initdb).
ServerSpec postgres_server(const std::string& password = "ebb-test-pw");
// Runs SQL with psql against `server` as postgres/`password`; the output (unaligned, tuples
// only), trimmed. Throws when psql fails.
std::string psql(const LocalServer& server, const std::string& sql, const std::string& password = "ebb-test-pw");

// MariaDB 10.11: port(0); root with `password` (set at first start), database "test".
ServerSpec mariadb_server(const std::string& password = "ebb-test-pw");
// Runs SQL with the mariadb client as root/`password`; output trimmed. Throws when it fails.
std::string mariadb_sql(const LocalServer& server, const std::string& sql, const std::string& password = "ebb-test-pw");

// nats-server with JetStream: port(0) client, port(1) the monitoring endpoint.
ServerSpec nats_server();

// etcd 3.4: port(0) the client URL (http://127.0.0.1:port), port(1) peers.
ServerSpec etcd_server();

// beanstalkd: port(0).
ServerSpec beanstalkd_server();

// Prometheus 2.42 scraping `targets` ("127.0.0.1:port", path /metrics) every second: port(0).
// A new target's first sample is queryable about 5 s after start (discovery is throttled).
ServerSpec prometheus_server(const std::vector<std::string>& targets);

}  // namespace ebb::test
