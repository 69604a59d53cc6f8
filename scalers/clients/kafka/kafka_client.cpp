#include "kafka/kafka_client.h"

#include <librdkafka/rdkafka.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ebb/strings.h"

namespace ebb::scalers::kafka {

namespace {

using Properties = std::vector<std::pair<std::string, std::string>>;

constexpr auto kMinCallTime = std::chrono::milliseconds(1);

int ms_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max(left, kMinCallTime).count());
}

bool expired(Clock::time_point deadline) { return Clock::now() >= deadline; }

// GSSAPI credentials live in files librdkafka and kinit read; they are private to the handle
// (0700 directory, 0600 files) and removed with it.
class SecretFiles {
 public:
  SecretFiles() = default;
  SecretFiles(const SecretFiles&) = delete;
  SecretFiles& operator=(const SecretFiles&) = delete;
  ~SecretFiles() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  Result<std::string> write(const std::string& name, const std::string& content) {
    if (dir_.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ebb-kafka-krb-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr)
        return fail(std::string("cannot create a directory for Kerberos files: ") + std::strerror(errno));
      dir_ = pattern;
    }
    const std::string path = dir_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
      if (!out) return fail("cannot write Kerberos file " + path);
    }
    ::chmod(path.c_str(), 0600);
    return path;
  }

 private:
  std::string dir_;
};

Result<void> materialize_gssapi_files(KafkaConfig& c, SecretFiles& files) {
  if (c.sasl_mode != SaslMode::Gssapi) return {};
  if (!c.kerberos_config.empty()) {
    auto path = files.write("krb5.conf", c.kerberos_config);
    if (!path) return unexpected(path.error());
    c.kerberos_config_path = *path;
  }
  if (!c.keytab.empty()) {
    auto path = files.write("keytab", c.keytab);
    if (!path) return unexpected(path.error());
    c.keytab_path = *path;
  } else if (!c.password.empty()) {
    auto path = files.write("password", c.password + "\n");
    if (!path) return unexpected(path.error());
    c.password_path = *path;
  }
  return {};
}

// This librdkafka build has no OIDC client, and AWS MSK IAM signing is not implemented, so a
// token cannot be obtained; failing the refresh makes every request fail with this reason
// instead of librdkafka falling back to an unsecured token.
void oauth_bearer_unavailable(rd_kafka_t* rk, const char*, void*) {
  rd_kafka_oauthbearer_set_token_failure(
      rk, "sasl oauthbearer (client credentials) is not supported by this build of Ebb: no token provider");
}
void aws_msk_iam_unavailable(rd_kafka_t* rk, const char*, void*) {
  rd_kafka_oauthbearer_set_token_failure(rk, "saslTokenProvider aws_msk_iam is not supported by Ebb yet");
}

void silent_log(const rd_kafka_t*, int, const char*, const char*) {}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// librdkafka error texts may quote a rejected value; a secret one must not reach a message.
std::string without_secrets(std::string text, const KafkaConfig& c) {
  for (const std::string* secret : {&c.password, &c.key, &c.key_password, &c.keytab, &c.aws_secret_access_key}) {
    if (secret->size() < 3) continue;  // too short to search for without mangling the text
    for (auto pos = text.find(*secret); pos != std::string::npos; pos = text.find(*secret, pos))
      text.replace(pos, secret->size(), "<redacted>");
  }
  return text;
}

Result<ConfPtr> build_conf(const KafkaConfig& c, const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      const std::string reason = is_secret_property(name) ? "rejected" : without_secrets(errstr, c);
      return fail("librdkafka property \"" + name + "\": " + reason);
    }
  }
  if (c.sasl_mode == SaslMode::OAuthBearer) {
    rd_kafka_conf_set_oauthbearer_token_refresh_cb(
        conf.get(), c.token_provider == TokenProvider::AwsMskIam ? aws_msk_iam_unavailable : oauth_bearer_unavailable);
  }
  return conf;
}

// Creates a producer-type handle for `c`; the files it needs stay in `files`.
Result<rd_kafka_t*> create_handle(KafkaConfig c, SecretFiles& files, bool connect) {
  if (auto r = materialize_gssapi_files(c, files); !r) return unexpected(r.error());
  Properties properties = librdkafka_config(c);
  if (!connect) {
    std::erase_if(properties, [](const auto& p) { return p.first == "bootstrap.servers"; });
  }
  auto conf = build_conf(c, properties);
  if (!conf) return unexpected(conf.error());
  if (!connect) rd_kafka_conf_set_log_cb(conf->get(), silent_log);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail("cannot create a librdkafka client: " + without_secrets(errstr, c));
  conf->release();  // owned by rk now
  return rk;
}

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

PartitionList make_list(const std::vector<TopicPartition>& partitions, std::int64_t offset) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [topic, partition] : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  return list;
}

std::string partition_name(const char* topic, std::int32_t partition) {
  return std::string(topic) + "/" + std::to_string(partition);
}

}  // namespace

struct KafkaClient::Handle {
  rd_kafka_t* rk = nullptr;
  SecretFiles files;
  ~Handle() {
    if (rk) rd_kafka_destroy(rk);
  }
};

KafkaClient::KafkaClient(std::string endpoint, std::unique_ptr<Handle> handle)
    : endpoint_(std::move(endpoint)), handle_(std::move(handle)) {}
KafkaClient::~KafkaClient() = default;

Unexpected<Error> KafkaClient::failure(const std::string& what, const std::string& reason) const {
  return fail(endpoint_ + ": " + what + ": " + reason, /*transient=*/true);
}

Result<std::shared_ptr<KafkaClient>> KafkaClient::open(const KafkaConfig& config) {
  const std::string endpoint = "kafka " + config.bootstrap();
  auto handle = std::make_unique<Handle>();
  auto rk = create_handle(config, handle->files, /*connect=*/true);
  if (!rk) return fail(endpoint + ": " + rk.error().message);
  handle->rk = *rk;
  return std::shared_ptr<KafkaClient>(new KafkaClient(endpoint, std::move(handle)));
}

Result<std::map<std::string, std::vector<std::int32_t>>> KafkaClient::partitions(
    const std::set<std::string>& topics, Clock::time_point deadline) {
  if (expired(deadline)) return failure("error describing topics", "deadline exceeded");
  rd_kafka_topic_t* rkt = nullptr;
  if (topics.size() == 1) rkt = rd_kafka_topic_new(handle_->rk, topics.begin()->c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(handle_->rk, rkt == nullptr ? 1 : 0, rkt, &md, ms_until(deadline));
  if (rkt) rd_kafka_topic_destroy(rkt);
  if (err) return failure("error describing topics", rd_kafka_err2str(err));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(md, rd_kafka_metadata_destroy);

  std::map<std::string, std::vector<std::int32_t>> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (!topics.empty() && !topics.contains(t.topic)) continue;
    if (t.err) return failure("error describing topic \"" + std::string(t.topic) + "\"", rd_kafka_err2str(t.err));
    auto& ids = out[t.topic];
    for (int p = 0; p < t.partition_cnt; ++p) ids.push_back(t.partitions[p].id);
    std::sort(ids.begin(), ids.end());
  }
  for (const auto& topic : topics)
    if (!out.contains(topic)) return failure("error describing topic \"" + topic + "\"", "not in the metadata response");
  return out;
}

namespace {

// Runs one ListConsumerGroupOffsets request (partitions == nullptr: every partition the group
// has committed) and returns its result list, owned by the caller.
Result<PartitionList, std::string> list_group_offsets(rd_kafka_t* rk, const std::string& group,
                                                      const rd_kafka_topic_partition_list_t* partitions,
                                                      Clock::time_point deadline) {
  char errstr[512];
  const int timeout_ms = ms_until(deadline);
  std::unique_ptr<rd_kafka_AdminOptions_t, void (*)(rd_kafka_AdminOptions_t*)> options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS), rd_kafka_AdminOptions_destroy);
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr, sizeof errstr))
    return unexpected(std::string(errstr));
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> queue(rd_kafka_queue_new(rk), rd_kafka_queue_destroy);
  rd_kafka_ListConsumerGroupOffsets_t* request = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), partitions);
  rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, options.get(), queue.get());
  rd_kafka_ListConsumerGroupOffsets_destroy(request);

  // The request timeout bounds the broker round trip; the extra second only covers handing the
  // result over, so the wait is still bounded if librdkafka never answers.
  std::unique_ptr<rd_kafka_event_t, void (*)(rd_kafka_event_t*)> event(
      rd_kafka_queue_poll(queue.get(), timeout_ms + 1000), rd_kafka_event_destroy);
  if (!event) return unexpected(std::string("timed out"));
  if (rd_kafka_event_error(event.get())) return unexpected(std::string(rd_kafka_event_error_string(event.get())));
  const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(event.get());
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      result ? rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count) : nullptr;
  if (count != 1) return unexpected(std::string("unexpected response"));
  if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[0]))
    return unexpected(std::string(rd_kafka_error_string(error)));
  const auto* list = rd_kafka_group_result_partitions(groups[0]);
  return PartitionList(list ? rd_kafka_topic_partition_list_copy(list) : rd_kafka_topic_partition_list_new(0));
}

}  // namespace

Result<std::set<std::string>> KafkaClient::group_topics(const std::string& group, Clock::time_point deadline) {
  const std::string what = "error listing consumer group offsets of \"" + group + "\"";
  if (expired(deadline)) return failure(what, "deadline exceeded");
  auto list = list_group_offsets(handle_->rk, group, nullptr, deadline);
  if (!list) return failure(what, list.error());
  std::set<std::string> topics;
  for (int i = 0; i < (*list)->cnt; ++i) topics.insert((*list)->elems[i].topic);
  return topics;
}

Result<std::map<TopicPartition, std::int64_t>> KafkaClient::committed_offsets(
    const std::string& group, const std::vector<TopicPartition>& partitions, Clock::time_point deadline) {
  const std::string what = "error listing consumer group offsets of \"" + group + "\"";
  if (expired(deadline)) return failure(what, "deadline exceeded");
  auto request = make_list(partitions, RD_KAFKA_OFFSET_INVALID);
  auto list = list_group_offsets(handle_->rk, group, request.get(), deadline);
  if (!list) return failure(what, list.error());
  std::map<TopicPartition, std::int64_t> out;
  for (int i = 0; i < (*list)->cnt; ++i) {
    const auto& e = (*list)->elems[i];
    if (e.err) return failure(what, partition_name(e.topic, e.partition) + ": " + rd_kafka_err2str(e.err));
    // librdkafka reports "nothing committed" as RD_KAFKA_OFFSET_INVALID (-1001), Sarama as -1.
    out[{e.topic, e.partition}] = e.offset < 0 ? kNoCommittedOffset : e.offset;
  }
  return out;
}

Result<std::map<TopicPartition, std::int64_t>> KafkaClient::high_watermarks(
    const std::vector<TopicPartition>& partitions, Clock::time_point deadline) {
  const std::string what = "error reading the newest offsets";
  std::map<TopicPartition, std::int64_t> out;
  if (partitions.empty()) return out;
  if (expired(deadline)) return failure(what, "deadline exceeded");
  // A ListOffsets timestamp of -1 (RD_KAFKA_OFFSET_END) asks for the high-water mark; one
  // request per partition leader instead of one round trip per partition.
  auto list = make_list(partitions, RD_KAFKA_OFFSET_END);
  if (const auto err = rd_kafka_offsets_for_times(handle_->rk, list.get(), ms_until(deadline)))
    return failure(what, rd_kafka_err2str(err));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err) return failure(what, partition_name(e.topic, e.partition) + ": " + rd_kafka_err2str(e.err));
    out[{e.topic, e.partition}] = e.offset;
  }
  return out;
}

std::string pool_key(const KafkaConfig& c) {
  std::string key;
  const auto add = [&key](const std::string& s) { append_key_field(key, s); };
  for (const auto& [name, value] : librdkafka_config(c)) {
    add(name);
    add(value);
  }
  // Settings that reach librdkafka through files or callbacks rather than properties.
  for (const std::string* s : {&c.keytab, &c.kerberos_config, &c.oauth_token_endpoint_uri, &c.scopes_text,
                               &c.oauth_extensions_text, &c.aws_region, &c.aws_access_key_id,
                               &c.aws_secret_access_key, &c.aws_role_arn})
    add(*s);
  add(std::to_string(static_cast<int>(c.token_provider)));
  return key;
}

Result<std::shared_ptr<Client>> KafkaPool::client(const KafkaConfig& config) {
  const std::string key = pool_key(config);
  std::lock_guard lock(mutex_);
  if (auto existing = clients_[key].lock()) return std::shared_ptr<Client>(existing);
  // Creating a handle does no network I/O, so holding the lock here is cheap.
  auto opened = KafkaClient::open(config);
  if (!opened) return unexpected(opened.error());
  clients_[key] = *opened;
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  return std::shared_ptr<Client>(*opened);
}

std::size_t KafkaPool::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& e) { return !e.second.expired(); }));
}

Result<void> librdkafka_accepts(const KafkaConfig& config) {
  SecretFiles files;
  auto rk = create_handle(config, files, /*connect=*/false);
  if (!rk) return unexpected(rk.error());
  rd_kafka_destroy(*rk);
  return {};
}

}  // namespace ebb::scalers::kafka
