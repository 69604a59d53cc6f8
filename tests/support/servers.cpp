#include "servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace ebb::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string trimmed(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Runs a command that must succeed, for one-time preparation.
void must(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s) {
  auto r = run_command(argv, timeout);
  if (r.exit_code != 0) throw std::runtime_error(argv.front() + " failed (" + std::to_string(r.exit_code) + "): " + r.err + r.out);
}

std::string postgres_bin() {
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql"))
    if (fs::exists(entry.path() / "bin" / "postgres")) return (entry.path() / "bin").string();
  throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)");
}

}  // namespace

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {0, ""};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      while (::poll(&p, 1, 2000) > 0) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        response.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return {0, ""};
  const int status = std::atoi(response.c_str() + response.find(' ') + 1);
  const auto body = response.find("\r\n\r\n");
  return {status, body == std::string::npos ? "" : response.substr(body + 4)};
}

ServerSpec postgres_server(const std::string& password) {
  ServerSpec spec;
  spec.name = "postgres";
  spec.prepare = [password](LocalServer& s) {
    const std::string data = s.dir() + "/data";
    must({"chown", "-R", "postgres:postgres", s.dir()});
    write(s.dir() + "/pwfile", password + "\n");
    must({"chown", "postgres:postgres", s.dir() + "/pwfile"});
    must({"runuser", "-u", "postgres", "--", postgres_bin() + "/initdb", "-D", data, "-U", "postgres", "-A",
          "scram-sha-256", "--pwfile=" + s.dir() + "/pwfile", "-N", "-E", "UTF8", "--locale=C.UTF-8"});
  };
  // stop() sends SIGTERM, which postgres reads as a smart shutdown: it waits for every client
  // to leave, so a test that stops the server under a scaler's open session would wait, and
  // runuser would then SIGKILL it (leaving its lock file to refuse the restart). A shell turns
  // SIGTERM into SIGINT, the fast shutdown that ends sessions the way a real restart does;
  // setpriv execs it as postgres without a watching parent of its own.
  spec.command = [](const LocalServer& s) {
    return std::vector<std::string>{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                                    "bash", "-c",
                                    "trap 'kill -INT $pid' TERM; \"$0\" \"$@\" & pid=$!; wait $pid; wait $pid",
                                    postgres_bin() + "/postgres", "-D", s.dir() + "/data", "-p",
                                    std::to_string(s.port()), "-k", s.dir(), "-c", "listen_addresses=127.0.0.1", "-c",
                                    "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"};
  };
  spec.ready = [](const LocalServer& s) {
    return run_command({"pg_isready", "-h", "127.0.0.1", "-p", std::to_string(s.port())}, 5s).exit_code == 0;
  };
  return spec;
}

std::string psql(const LocalServer& server, const std::string& sql, const std::string& password) {
  auto r = run_command({"env", "PGPASSWORD=" + password, "psql", "-h", "127.0.0.1", "-p", std::to_string(server.port()),
                        "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql},
                       30s);
  if (r.exit_code != 0) throw std::runtime_error("psql: " + r.err);
  return trimmed(r.out);
}

ServerSpec mariadb_server(const std::string& password) {
  ServerSpec spec;
  spec.name = "mariadb";
  // Each server gets a tmpdir of its own: a starting mariadbd (also mariadb-install-db's
  // bootstrap) removes the temporary tables it finds there, so servers sharing /tmp, as
  // concurrent tests do, delete each other's and fail ("Unknown table 'mysql.tmp_user_sys'").
  spec.prepare = [](LocalServer& s) {
    fs::create_directories(s.dir() + "/tmp");
    must({"chown", "-R", "mysql:mysql", s.dir()});
    must({"mariadb-install-db", "--no-defaults", "--datadir=" + s.dir() + "/data", "--tmpdir=" + s.dir() + "/tmp",
          "--user=mysql", "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"});
  };
  spec.command = [](const LocalServer& s) {
    return std::vector<std::string>{"mariadbd", "--no-defaults", "--datadir=" + s.dir() + "/data",
                                    "--tmpdir=" + s.dir() + "/tmp", "--user=mysql",
                                    "--bind-address=127.0.0.1", "--port=" + std::to_string(s.port()),
                                    "--socket=" + s.dir() + "/mysqld.sock", "--pid-file=" + s.dir() + "/mysqld.pid",
                                    "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
                                    "--innodb-buffer-pool-size=64M", "--skip-log-bin"};
  };
  // Ready once root answers over TCP with the password. At the first start root has none and
  // exists for the socket only: set both up through the socket.
  spec.ready = [password](const LocalServer& s) {
    auto tcp = [&] {
      return run_command({"mariadb", "--no-defaults", "-h127.0.0.1", "-P" + std::to_string(s.port()), "-uroot",
                          "-p" + password, "-e", "select 1"},
                         5s)
                 .exit_code == 0;
    };
    if (tcp()) return true;
    // root@localhost authenticates by the socket's peer (we are root); root over TCP by password.
    const std::string setup = "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '" + password +
                              "'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; "
                              "CREATE DATABASE IF NOT EXISTS test;";
    run_command({"mariadb", "--no-defaults", "--socket=" + s.dir() + "/mysqld.sock", "-uroot", "-e", setup}, 5s);
    return tcp();
  };
  spec.start_timeout = 30s;
  return spec;
}

std::string mariadb_sql(const LocalServer& server, const std::string& sql, const std::string& password) {
  auto r = run_command({"mariadb", "--no-defaults", "-h127.0.0.1", "-P" + std::to_string(server.port()), "-uroot",
                        "-p" + password, "-N", "-B", "-e", sql},
                       30s);
  if (r.exit_code != 0) throw std::runtime_error("mariadb: " + r.err);
  return trimmed(r.out);
}

ServerSpec nats_server() {
  ServerSpec spec;
  spec.name = "nats-server";
  spec.ports = 2;
  spec.command = [](const LocalServer& s) {
    return std::vector<std::string>{"nats-server", "-a", "127.0.0.1", "-p", std::to_string(s.port(0)), "-m",
                                    std::to_string(s.port(1)), "-js", "-sd", s.dir()};
  };
  spec.ready = [](const LocalServer& s) {
    return http_get(s.port(1), "/healthz?js-enabled-only=true").first == 200;
  };
  return spec;
}

ServerSpec etcd_server() {
  ServerSpec spec;
  spec.name = "etcd";
  spec.ports = 2;
  spec.command = [](const LocalServer& s) {
    const auto client = "http://" + s.address(0), peer = "http://" + s.address(1);
    return std::vector<std::string>{"etcd", "--name", "ebb-test", "--data-dir", s.dir() + "/data",
                                    "--listen-client-urls", client, "--advertise-client-urls", client,
                                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                    "--initial-cluster", "ebb-test=" + peer, "--logger", "zap", "--log-outputs",
                                    "stderr"};
  };
  spec.ready = [](const LocalServer& s) {
    return http_get(s.port(0), "/health").second.find("\"health\":\"true\"") != std::string::npos;
  };
  return spec;
}

ServerSpec beanstalkd_server() {
  ServerSpec spec;
  spec.name = "beanstalkd";
  spec.command = [](const LocalServer& s) {
    return std::vector<std::string>{"beanstalkd", "-l", "127.0.0.1", "-p", std::to_string(s.port()), "-b", s.dir()};
  };
  return spec;
}

ServerSpec prometheus_server(const std::vector<std::string>& targets) {
  ServerSpec spec;
  spec.name = "prometheus";
  spec.prepare = [targets](LocalServer& s) {
    std::string list;
    for (const auto& t : targets) list += (list.empty() ? "'" : ", '") + t + "'";
    write(s.dir() + "/prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                       "scrape_configs:\n  - job_name: ebb-test\n    static_configs:\n"
                                       "      - targets: [" + list + "]\n");
  };
  spec.command = [](const LocalServer& s) {
    return std::vector<std::string>{"prometheus", "--config.file=" + s.dir() + "/prometheus.yml",
                                    "--storage.tsdb.path=" + s.dir() + "/data",
                                    "--web.listen-address=" + s.address()};
  };
  spec.ready = [](const LocalServer& s) { return http_get(s.port(), "/-/ready").first == 200; };
  return spec;
}

}  // namespace ebb::test
