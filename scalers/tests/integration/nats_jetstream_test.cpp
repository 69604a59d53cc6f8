// The nats-jetstream scaler against real nats-server (2.9) with JetStream: a server per test
// (tests/support/servers.h nats_server(), stopped and restarted for the error and the recovery)
// and a three-server JetStream cluster on 127.0.0.1, .2 and .3 (the same ports on each address,
// as pods of one StatefulSet have). Streams, durable consumers, messages, pulls and acks are made
// with the raw NATS protocol (JetStream's $JS.API subjects) on a socket: no NATS client library.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "ebb/net/http_client.h"
#include "ebb/net/stream.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "http/client.h"
#include "support/servers.h"
#include "support/support.h"

using namespace ebb;
using namespace ebb::scalers;
using namespace std::chrono_literals;
using nlohmann::json;
using Map = std::map<std::string, std::string>;

namespace {

// Just enough of the NATS client protocol: CONNECT, PUB, HPUB, SUB, MSG/HMSG, PING/PONG. A
// failure (no answer in time, -ERR, a JetStream API error) throws std::runtime_error, which a
// test reports as it is or, against a cluster that is still electing leaders, retries
// (retrying() below). A read or write failure closes the socket (net::Stream); the next request
// connects again.
class NatsConnection {
 public:
  struct Message {
    std::string subject, reply, payload;
    bool status = false;  // an HMSG carrying only a status (no messages, no responders)
    std::string headers;  // an HMSG's first header line, e.g. "NATS/1.0 503"
  };

  NatsConnection(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {
    connect();
  }

  void connect() {
    buffer_.clear();
    auto s = net::Stream::connect(host_, port_, net::TlsOptions{}, 5s);
    if (!s)
      throw std::runtime_error("connect to nats " + host_ + ":" + std::to_string(port_) + ": " +
                               s.error().message);
    stream_ = std::move(s).value();
    line();  // INFO
    send(
        "CONNECT "
        "{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,"
        "\"protocol\":1}\r\nPING\r\n");
    for (auto l = line(); l != "PONG"; l = line()) {
    }
    send("SUB _INBOX.ebb.> 1\r\n");
  }

  void publish(const std::string& subject, const std::string& payload,
               const std::string& reply = "") {
    send("PUB " + subject + (reply.empty() ? "" : " " + reply) + " " +
         std::to_string(payload.size()) + "\r\n" + payload + "\r\n");
  }

  // Publishes with a fresh reply inbox and returns the answers that arrive for it: `count` of
  // them, or fewer when a status message (end of a pull batch) comes first. Pulled messages
  // keep their own subject and carry a $JS.ACK reply. `msg_id` sets the Nats-Msg-Id header, by
  // which JetStream stores a message sent twice (a retry after a lost answer) once.
  std::vector<Message> request(const std::string& subject, const std::string& payload,
                               std::size_t count = 1,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10),
                               const std::string& msg_id = "") {
    if (!stream_->is_open()) connect();
    const std::string inbox = "_INBOX.ebb." + std::to_string(++inbox_seq_);
    if (msg_id.empty()) {
      publish(subject, payload, inbox);
    } else {
      const std::string headers = "NATS/1.0\r\nNats-Msg-Id: " + msg_id + "\r\n\r\n";
      send("HPUB " + subject + " " + inbox + " " + std::to_string(headers.size()) + " " +
           std::to_string(headers.size() + payload.size()) + "\r\n" + headers + payload + "\r\n");
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<Message> out;
    while (out.size() < count) {
      auto m = next(deadline);
      const bool pulled = count > 1 && m.reply.rfind("$JS.ACK.", 0) == 0;
      if (m.subject != inbox && !pulled) continue;
      if (m.status && count > 1) break;
      out.push_back(std::move(m));
    }
    return out;
  }

  // A JetStream API request (or a publish to a stream's subject, answered by its ack).
  json api(const std::string& subject, const json& body,
           std::chrono::milliseconds timeout = std::chrono::seconds(10),
           const std::string& msg_id = "") {
    auto answers = request(subject, body.dump(), 1, timeout, msg_id);
    const auto& answer = answers.front();
    json doc = json::parse(answer.payload, nullptr, false);
    if (!doc.is_object() || doc.contains("error"))
      throw std::runtime_error(subject + ": " +
                               (answer.status ? "status " + answer.headers : answer.payload));
    return doc;
  }

 private:
  void send(const std::string& data) {
    auto w = stream_->write_all(data, 5s);
    if (!w) throw std::runtime_error("nats write: " + w.error().message);
  }
  // Only whole lines and whole payloads leave the buffer, so a timeout keeps it consistent.
  std::string line(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (auto crlf = buffer_.find("\r\n"); crlf != std::string::npos) {
        std::string l = buffer_.substr(0, crlf);
        buffer_.erase(0, crlf + 2);
        return l;
      }
      fill(deadline);
    }
  }
  std::string line() { return line(std::chrono::steady_clock::now() + 10s); }
  std::string bytes(std::size_t n, std::chrono::steady_clock::time_point deadline) {
    while (buffer_.size() < n + 2) fill(deadline);
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n + 2);
    return out;
  }
  void fill(std::chrono::steady_clock::time_point deadline) {
    char chunk[4096];
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto n = stream_->read_some(chunk, sizeof chunk, std::max(left, 1ms));
    if (!n) throw std::runtime_error("nats read: " + n.error().message);
    buffer_.append(chunk, *n);
  }
  Message next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const std::string l = line(deadline);
      if (l == "PING") {
        send("PONG\r\n");
        continue;
      }
      if (l.rfind("-ERR", 0) == 0) throw std::runtime_error("nats: " + l);
      const auto parts = split(l, ' ');
      if (parts.front() == "MSG") {
        Message m{parts[1], parts.size() == 5 ? parts[3] : "", ""};
        m.payload = bytes(std::stoul(parts.back()), deadline);
        return m;
      }
      if (parts.front() == "HMSG") {
        Message m{parts[1], parts.size() == 6 ? parts[3] : "", ""};
        const auto header_size = std::stoul(parts[parts.size() - 2]);
        const std::string all = bytes(std::stoul(parts.back()), deadline);
        m.payload = all.substr(header_size);
        m.status = all.rfind("NATS/1.0 ", 0) == 0;  // a status line, e.g. 404 No Messages
        m.headers = all.substr(0, all.find("\r\n"));
        return m;
      }
    }
  }

  std::string host_;
  std::uint16_t port_;
  std::unique_ptr<net::Stream> stream_;
  std::string buffer_;
  int inbox_seq_ = 0;
};

void create_stream(NatsConnection& nats, const std::string& stream, const std::string& subjects,
                   int replicas = 1) {
  nats.api("$JS.API.STREAM.CREATE." + stream, {{"name", stream},
                                               {"subjects", {subjects}},
                                               {"storage", "file"},
                                               {"num_replicas", replicas}});
}

void create_consumer(NatsConnection& nats, const std::string& stream, const std::string& durable) {
  nats.api("$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + durable,
           {{"stream_name", stream},
            {"config",
             {{"durable_name", durable}, {"ack_policy", "explicit"}, {"deliver_policy", "all"}}}});
}

// Runs `step` until it returns without throwing, for up to `timeout`: while a cluster elects a
// leader, requests go unanswered or are refused for a while. Fails with the last error.
void retrying(const std::string& what, std::chrono::milliseconds timeout,
              const std::function<void()>& step) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      step();
      return;
    } catch (const std::runtime_error& e) {
      if (std::chrono::steady_clock::now() >= deadline)
        FAIL(what << ": still failing after " << timeout.count() << " ms: " << e.what());
    }
    std::this_thread::sleep_for(200ms);
  }
}

// Publishes n messages and waits for each one's ack. Each has a Nats-Msg-Id of its own, so with
// `retry_for` a message whose ack was lost is sent again without being stored twice.
void publish(NatsConnection& nats, const std::string& subject, int n,
             std::chrono::milliseconds retry_for = 0ms) {
  static int sequence = 0;
  for (int i = 0; i < n; ++i) {
    const std::string id = "ebb-test-" + std::to_string(++sequence);
    auto once = [&] { nats.api(subject, json{{"n", i}}, 5s, id); };
    if (retry_for == 0ms)
      once();
    else
      retrying("publishing to " + subject, retry_for, once);
  }
}

// Pulls up to n messages without acknowledging them; returns their ack subjects.
std::vector<std::string> pull(NatsConnection& nats, const std::string& stream,
                              const std::string& consumer, int n) {
  std::vector<std::string> acks;
  for (auto& m :
       nats.request("$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer,
                    json{{"batch", n}, {"no_wait", true}}.dump(), static_cast<std::size_t>(n)))
    if (!m.status) acks.push_back(m.reply);
  return acks;
}

std::unique_ptr<TriggerConfig> config(Map metadata) {
  TriggerContext ctx;
  ctx.type = "nats-jetstream";
  ctx.metadata = std::move(metadata);
  auto parsed = Registry::builtin().parse(ctx);
  INFO((parsed ? std::string() : parsed.error().front().str()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

Map trigger(std::uint16_t monitoring_port, const std::string& stream, const std::string& consumer) {
  return {{"natsServerMonitoringEndpoint", "127.0.0.1:" + std::to_string(monitoring_port)},
          {"account", "$G"},
          {"stream", stream},
          {"consumer", consumer},
          {"lagThreshold", "5"}};
}

std::unique_ptr<Scaler> scaler(ConnectionPools& pools, const TriggerConfig& cfg) {
  auto s = cfg.create_scaler(pools);
  REQUIRE(s.ok());
  return std::move(s).value();
}

PollResult poll_ok(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

}  // namespace

TEST_CASE(
    "nats-jetstream: the lag is pending plus unacknowledged messages of the durable consumer") {
  test::LocalServer server(test::nats_server());
  NatsConnection nats("127.0.0.1", server.port(0));
  create_stream(nats, "orders", "orders.>");
  create_consumer(nats, "orders", "workers");
  publish(nats, "orders.new", 10);

  ConnectionPools pools;
  auto m = trigger(server.port(1), "orders", "workers");
  m["activationLagThreshold"] = "8";
  auto cfg = config(m);
  CHECK(cfg->metric_spec().name == "s0-nats-jetstream-orders");
  auto s = scaler(pools, *cfg);
  auto r = poll_ok(*s);
  CHECK(r.value == 10);
  CHECK(r.active);

  // Delivered but not acknowledged still counts; acknowledged does not.
  auto acks = pull(nats, "orders", "workers", 3);
  REQUIRE(acks.size() == 3);
  CHECK(poll_ok(*s).value == 10);
  nats.publish(acks[0], "+ACK");
  nats.publish(acks[1], "+ACK");
  CHECK(eventually([&] { return s->poll().ok() && poll_ok(*s).value == 8; }, 5s));
  // activationLagThreshold 8: 8 is not active, 9 is.
  CHECK_FALSE(poll_ok(*s).active);
  publish(nats, "orders.new", 1);
  r = poll_ok(*s);
  CHECK(r.value == 9);
  CHECK(r.active);
}

TEST_CASE("nats-jetstream: a missing consumer or stream is an error naming it") {
  test::LocalServer server(test::nats_server());
  NatsConnection nats("127.0.0.1", server.port(0));
  create_stream(nats, "orders", "orders.>");
  create_consumer(nats, "orders", "workers");
  ConnectionPools pools;
  const std::string where =
      "nats-jetstream http://127.0.0.1:" + std::to_string(server.port(1)) + ": ";
  auto no_consumer = scaler(pools, *config(trigger(server.port(1), "orders", "missing")));
  CHECK(no_consumer->poll().error().message ==
        where + "consumer \"missing\" not found in stream \"orders\"");
  auto no_stream = scaler(pools, *config(trigger(server.port(1), "payments", "workers")));
  CHECK(no_stream->poll().error().message ==
        where + "stream \"payments\" not found in account \"$G\"");
  auto other_account = trigger(server.port(1), "orders", "workers");
  other_account["account"] = "billing";
  auto no_account = scaler(pools, *config(other_account));
  CHECK_FALSE(no_account->poll().ok());
  // The account by its id works too ($G is both name and id of the default account).
  auto by_id = trigger(server.port(1), "orders", "workers");
  by_id.erase("account");
  by_id["accountID"] = "$G";
  CHECK(poll_ok(*scaler(pools, *config(by_id))).value == 0);
}

TEST_CASE(
    "nats-jetstream: a stopped server is an error naming the endpoint, never 0, then it recovers") {
  test::LocalServer server(test::nats_server());
  {
    NatsConnection nats("127.0.0.1", server.port(0));
    create_stream(nats, "orders", "orders.>");
    create_consumer(nats, "orders", "workers");
    publish(nats, "orders.new", 4);
  }
  ConnectionPools pools;
  auto s = scaler(pools, *config(trigger(server.port(1), "orders", "workers")));
  CHECK(poll_ok(*s).value == 4);
  server.stop();
  auto down = s->poll();
  REQUIRE_FALSE(down.ok());
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(server.port(1));
  CHECK_THAT(down.error().message, Catch::StartsWith("nats-jetstream " + endpoint + ": GET " +
                                                     endpoint + "/jsz?acc=%24G"));
  CHECK(down.error().transient);
  server.start();
  // The stream is on disk: the same lag once the server is back.
  CHECK(eventually([&] { return s->poll().ok(); }, 10s));
  CHECK(poll_ok(*s).value == 4);
}

TEST_CASE("nats-jetstream: triggers on one server share kept-alive HTTP connections") {
  test::LocalServer server(test::nats_server());
  NatsConnection nats("127.0.0.1", server.port(0));
  create_stream(nats, "orders", "orders.>");
  create_consumer(nats, "orders", "a");
  create_consumer(nats, "orders", "b");
  ConnectionPools pools;
  auto a = scaler(pools, *config(trigger(server.port(1), "orders", "a")));
  auto b = scaler(pools, *config(trigger(server.port(1), "orders", "b")));
  for (int i = 0; i < 3; ++i) {
    poll_ok(*a);
    poll_ok(*b);
  }
  auto client = pools.get<http::Clients>().get(net::TlsOptions{});
  CHECK(client->open_connections() == 1);
}

namespace {

// Three JetStream servers n1, n2, n3 on 127.0.0.1, .2 and .3, each with the same client,
// route and monitoring ports, routed to each other.
struct NatsCluster {
  test::TempDir dir{"ebb-nats-cluster"};
  std::uint16_t client = test::free_port(), route = test::free_port(),
                monitoring = test::free_port();
  std::vector<test::Process> servers;

  static std::string ip(int i) { return "127.0.0." + std::to_string(i); }

  NatsCluster() {
    for (int i = 1; i <= 3; ++i) servers.push_back(start(i));
    net::HttpClient http;
    const bool ready = eventually(
        [&] {
          for (int i = 1; i <= 3; ++i) {
            auto r =
                http.send({.url = "http://" + ip(i) + ":" + std::to_string(monitoring) + "/jsz",
                           .timeout = 1s});
            if (!r || r->status != 200) return false;
            const json doc = json::parse(r->body, nullptr, false);
            if (!doc.is_object() ||
                doc.value("meta_cluster", json::object()).value("leader", "").empty())
              return false;
          }
          return true;
        },
        30s);
    if (!ready)
      FAIL("the NATS cluster did not elect a meta leader:\n"
           << test::read_file(dir.path() + "/n1.log"));
  }

  test::Process start(int i) {
    const std::string name = "n" + std::to_string(i);
    const std::string conf = dir.path() + "/" + name + ".conf";
    std::ofstream out(conf);
    out << "server_name: " << name << "\nlisten: " << ip(i) << ":" << client << "\nhttp: " << ip(i)
        << ":" << monitoring << "\njetstream { store_dir: \"" << dir.path() << "/" << name
        << "\" }\ncluster { name: ebb, listen: " << ip(i) << ":" << route << ", routes: [";
    for (int j = 1; j <= 3; ++j)
      out << (j > 1 ? ", " : "") << "\"nats://" << ip(j) << ":" << route << "\"";
    out << "] }\n";
    out.close();
    return test::Process::start({"nats-server", "-c", conf}, dir.path() + "/" + name + ".log");
  }

  // The consumer's leader as server n1 reports it.
  std::string leader(const std::string& stream, const std::string& consumer) {
    net::HttpClient http;
    auto r = http.send({.url = "http://" + ip(1) + ":" + std::to_string(monitoring) +
                               "/jsz?acc=%24G&consumers=true",
                        .timeout = 2s});
    if (!r) return "";
    const json doc = json::parse(r->body, nullptr, false);
    for (const auto& a : doc.value("account_details", json::array()))
      for (const auto& s : a.value("stream_detail", json::array()))
        if (s.value("name", "") == stream)
          for (const auto& c : s.value("consumer_detail", json::array()))
            if (c.value("name", "") == consumer)
              return c.value("cluster", json::object()).value("leader", "");
    return "";
  }
};

}  // namespace

TEST_CASE(
    "nats-jetstream: in a cluster the consumer's leader is found, remembered, and found again when "
    "it goes") {
  NatsCluster cluster;
  // The cluster has a meta leader, but a fresh stream or consumer group may still be refused or
  // go unanswered while its members catch up: each step is retried, and none is done twice.
  NatsConnection nats(NatsCluster::ip(1), cluster.client);
  retrying("creating stream orders with 3 replicas", 30s, [&] {
    try {
      create_stream(nats, "orders", "orders.>", 3);
    } catch (const std::runtime_error&) {
      nats.api("$JS.API.STREAM.INFO.orders", json::object(), 5s);  // made, its answer lost
    }
  });
  retrying("creating consumer workers", 30s, [&] {
    try {
      create_consumer(nats, "orders", "workers");
    } catch (const std::runtime_error&) {
      nats.api("$JS.API.CONSUMER.INFO.orders.workers", json::object(), 5s);
    }
  });
  publish(nats, "orders.new", 6, 30s);
  std::string leader;
  REQUIRE(eventually(
      [&] {
        leader = cluster.leader("orders", "workers");
        return !leader.empty();
      },
      20s));

  // The scaler asks a server that does not lead the consumer: it finds the leader through that
  // server's /varz. The leader can then be stopped while the configured endpoint stays up.
  const int leader_index = leader.back() - '0';
  const int endpoint_index = leader_index == 1 ? 2 : 1;
  INFO("consumer leader " << leader << ", configured endpoint n" << endpoint_index);
  auto m = trigger(cluster.monitoring, "orders", "workers");
  m["natsServerMonitoringEndpoint"] =
      NatsCluster::ip(endpoint_index) + ":" + std::to_string(cluster.monitoring);
  ConnectionPools pools;
  auto s = scaler(pools, *config(m));
  // The consumer's leader may be the replica that stored the messages last.
  CHECK(eventually(
      [&] {
        auto r = s->poll();
        return r.ok() && r->value == 6;
      },
      10s));

  // The leader goes away; the remaining two elect a new one, and the next polls find it.
  cluster.servers[static_cast<std::size_t>(leader_index - 1)].stop();
  CHECK(eventually(
      [&] {
        auto r = s->poll();
        return r.ok() && r->value == 6;
      },
      45s));
  NatsConnection survivor(NatsCluster::ip(endpoint_index), cluster.client);
  publish(survivor, "orders.new", 1, 30s);
  CHECK(eventually(
      [&] {
        auto r = s->poll();
        return r.ok() && r->value == 7;
      },
      20s));
}
