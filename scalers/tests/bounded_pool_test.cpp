// BoundedPool, the per-server connection pool of the SQL and beanstalkd scalers: reuse, the
// per-key limit and its wait, broken and hung-up connections dropped, idle expiry, and run()'s
// one retry after a stale connection.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "bounded_pool.h"

using namespace ebb;
using namespace ebb::scalers;
using namespace std::chrono_literals;

namespace {

struct FakeConn {
  int id = 0;
  bool is_broken = false;
  bool alive = true;
  bool is_timed_out = false;
  bool broken() const { return is_broken; }
  bool idle_alive() { return alive; }
  bool timed_out() const { return is_timed_out; }
};

struct Opener {
  std::atomic<int> opened{0};
  bool fail = false;
  BoundedPool<FakeConn>::Opener make() {
    return [this]() -> Result<std::unique_ptr<FakeConn>> {
      if (fail) return ebb::fail("connect refused", true);
      auto c = std::make_unique<FakeConn>();
      c->id = ++opened;
      return c;
    };
  }
};

}  // namespace

TEST_CASE("bounded pool: a returned connection is reused, per key") {
  BoundedPool<FakeConn> pool;
  Opener opener;
  {
    auto a = pool.acquire("k", 1s, opener.make());
    REQUIRE(a.ok());
    CHECK((*a)->id == 1);
    CHECK_FALSE(a->reused());
  }
  auto again = pool.acquire("k", 1s, opener.make());
  CHECK((*again)->id == 1);
  CHECK(again->reused());
  auto other = pool.acquire("other", 1s, opener.make());
  CHECK((*other)->id == 2);
  CHECK(pool.open_count("k") == 1);
  CHECK(pool.open_count() == 2);
}

TEST_CASE("bounded pool: at most max_per_key connections, a waiter gets the next free one") {
  BoundedPool<FakeConn> pool({.max_per_key = 2});
  Opener opener;
  auto a = pool.acquire("k", 1s, opener.make());
  auto b = pool.acquire("k", 1s, opener.make());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const auto started = std::chrono::steady_clock::now();
  auto busy = pool.acquire("k", 100ms, opener.make());
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().message == "all 2 pooled connections stayed busy for 100ms");
  CHECK(std::chrono::steady_clock::now() - started >= 100ms);

  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    auto released = std::move(a);  // returned to the pool when this scope ends
  });
  auto waited = pool.acquire("k", 2s, opener.make());
  releaser.join();
  REQUIRE(waited.ok());
  CHECK((*waited)->id == 1);
  CHECK(opener.opened == 2);
}

TEST_CASE("bounded pool: broken connections are closed, hung-up idle ones are replaced") {
  BoundedPool<FakeConn> pool;
  Opener opener;
  {
    auto a = pool.acquire("k", 1s, opener.make());
    (*a)->is_broken = true;
  }
  CHECK(pool.open_count("k") == 0);
  {
    auto b = pool.acquire("k", 1s, opener.make());
    auto c = pool.acquire("k", 1s, opener.make());
    CHECK((*b)->id == 2);
    CHECK((*c)->id == 3);
    (*b)->alive = false;  // the server hung up on both while they sat idle
    (*c)->alive = false;
  }
  CHECK(pool.open_count("k") == 2);
  auto fresh = pool.acquire("k", 1s, opener.make());
  CHECK((*fresh)->id == 4);
  CHECK_FALSE(fresh->reused());
  CHECK(pool.open_count("k") == 1);
}

TEST_CASE("bounded pool: a failed open frees its slot, drop_idle closes idle connections") {
  BoundedPool<FakeConn> pool({.max_per_key = 1});
  Opener opener;
  opener.fail = true;
  auto failed = pool.acquire("k", 1s, opener.make());
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message == "connect refused");
  CHECK(pool.open_count("k") == 0);
  opener.fail = false;
  { auto a = pool.acquire("k", 100ms, opener.make()); }
  CHECK(pool.open_count("k") == 1);
  pool.drop_idle("k");
  CHECK(pool.open_count("k") == 0);
}

TEST_CASE("bounded pool: idle connections expire, and buckets nobody uses are forgotten") {
  BoundedPool<FakeConn> pool({.max_per_key = 4, .max_idle = 20ms});
  Opener opener;
  { auto a = pool.acquire("old", 1s, opener.make()); }
  CHECK(pool.open_count("old") == 1);
  std::this_thread::sleep_for(40ms);
  auto b = pool.acquire("new", 1s, opener.make());  // any acquire sweeps
  CHECK(pool.open_count("old") == 0);
  CHECK(pool.open_count() == 1);
}

TEST_CASE("bounded pool: run retries once on a fresh connection when a reused one broke") {
  BoundedPool<FakeConn> pool;
  Opener opener;
  { auto warm = pool.acquire("k", 100ms, opener.make()); }  // one idle connection
  std::vector<int> used;
  auto r = pool.run("k", 100ms, opener.make(), [&](FakeConn& c) -> Result<int> {
    used.push_back(c.id);
    if (c.id == 1) {  // the idle one: the server restarted since
      c.is_broken = true;
      return fail("connection reset");
    }
    return c.id * 10;
  });
  REQUIRE(r.ok());
  CHECK(*r == 20);
  CHECK(used == std::vector<int>{1, 2});
  CHECK(pool.open_count("k") == 1);  // the broken one closed, the fresh one idle
}

TEST_CASE("bounded pool: run does not retry a fresh connection, a timeout, or a failed open") {
  BoundedPool<FakeConn> pool;
  Opener opener;
  int calls = 0;
  auto broken_fresh = pool.run("k", 100ms, opener.make(), [&](FakeConn& c) -> Result<int> {
    ++calls;
    c.is_broken = true;
    return fail("refused the query");
  });
  REQUIRE_FALSE(broken_fresh.ok());
  CHECK(broken_fresh.error().message == "refused the query");
  CHECK(calls == 1);

  { auto warm = pool.acquire("k", 100ms, opener.make()); }
  calls = 0;
  auto timed_out = pool.run("k", 100ms, opener.make(), [&](FakeConn& c) -> Result<int> {
    ++calls;
    c.is_broken = true;
    c.is_timed_out = true;
    return fail("read timeout", true);
  });
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.error().message == "read timeout");
  CHECK(calls == 1);

  { auto warm = pool.acquire("k", 100ms, opener.make()); }
  calls = 0;
  auto ok_answer = pool.run("k", 100ms, opener.make(), [&](FakeConn&) -> Result<int> {
    ++calls;
    return 7;
  });
  REQUIRE(ok_answer.ok());
  CHECK(*ok_answer == 7);
  CHECK(calls == 1);

  opener.fail = true;
  calls = 0;
  auto no_open = pool.run("other", 100ms, opener.make(), [&](FakeConn&) -> Result<int> {
    ++calls;
    return 1;
  });
  REQUIRE_FALSE(no_open.ok());
  CHECK(no_open.error().message == "connect refused");
  CHECK(calls == 0);
}
