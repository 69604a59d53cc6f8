/* A Kafka "broker" for tests: librdkafka's mock cluster in a process of its own, reachable
 * over TCP by any client. Debian has no Kafka broker, so this is the only server we can run.
 *
 *   kafka_mock_server [brokers=3] [bootstrap-file] [topic:partitions ...]
 *
 * The brokers listen on random loopback ports (librdkafka 2.0 cannot choose them), so the
 * bootstrap servers are written to bootstrap-file (or stdout); the file appears atomically,
 * so a reader that sees it non-empty sees all of it. Runs until SIGTERM or SIGINT.
 * Limits of the 2.0.2 mock: docs ENV.md §4 (no DescribeGroups: it makes rd_kafka_destroy hang).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int write_bootstrap(const char *path, const char *bootstrap) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  FILE *f = fopen(tmp, "w");
  if (f == nullptr) return -1;
  int ok = fprintf(f, "%s\n", bootstrap) > 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) return -1;
  return 0;
}

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  const char *bootstrap_file = argc > 2 ? argv[2] : nullptr;
  if (brokers < 1) {
    fprintf(stderr, "usage: %s [brokers] [bootstrap-file] [topic:partitions ...]\n", argv[0]);
    return 2;
  }

  /* A server whose launcher died must not outlive it: nobody would stop it. */
  pid_t launcher = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != launcher) return 1;

  /* Block the stop signals before librdkafka starts its threads, so they inherit the mask
   * and only sigwait() below receives them. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka_mock_server: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    fprintf(stderr, "kafka_mock_server: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == nullptr) {
    fprintf(stderr, "kafka_mock_server: could not create a mock cluster of %d brokers\n", brokers);
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = 3; i < argc; i++) {
    char topic[256];
    const char *colon = strrchr(argv[i], ':');
    size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
    int partitions = colon ? atoi(colon + 1) : 1;
    if (len == 0 || len >= sizeof topic || partitions < 1) {
      fprintf(stderr, "kafka_mock_server: bad topic argument '%s' (want name:partitions)\n", argv[i]);
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
    memcpy(topic, argv[i], len);
    topic[len] = '\0';
    int replication = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, partitions, replication);
    if (err) {
      fprintf(stderr, "kafka_mock_server: topic %s: %s\n", topic, rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  if (bootstrap_file) {
    if (write_bootstrap(bootstrap_file, bootstrap) != 0) {
      fprintf(stderr, "kafka_mock_server: cannot write %s: %s\n", bootstrap_file, strerror(errno));
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  printf("%s\n", bootstrap);
  fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fprintf(stderr, "kafka_mock_server: signal %d, stopping\n", sig);

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
