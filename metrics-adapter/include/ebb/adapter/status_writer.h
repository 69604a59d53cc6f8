// The adapter's status and Event writes, off the poll workers (issue 16).
//
// A poll decides on the scheduler's workers; writing the ScaledObject's status (Active,
// Fallback, lastActiveTime, health, triggersActivity) and its Events takes one or two API
// requests, ~100 ms each on a loaded kube-apiserver and unbounded on one that hangs. Done on the
// workers, those writes held polling back (every object's first poll writes its status). The
// /scale writes stay on the workers: they are the decision, and rare.
//
// StatusWriter:
// - submit() never waits for the API server: it files the update under the object's key and
//   returns. Per object only one update is pending: a newer one is merged over an unwritten older
//   one field by field (a field the newer update sets wins; one it leaves alone keeps the older
//   value), and the newest snapshot of the object is written from. An object whose pending write
//   would change nothing (status_patch against its snapshot) files nothing.
// - A fixed number of writer threads (`threads`) take pending objects in the order they were
//   filed and write them through the Actuator (update_status, then record for each Event). The
//   write of one object is never in flight twice; an update filed while it is, is written after.
// - A write that fails with a transient error (the API server down, 5xx, 429, a timeout, a
//   conflict that outlasted the actuator's retries) is filed again, behind a backoff per object
//   (`retry`), merged under anything newer that arrives meanwhile: the newest state wins. Other
//   failures (the object is gone, not the leader) drop that update. Events are recorded once,
//   after the first attempt of their update, never retried (as before).
// - Memory is bounded: one entry per object, at most `max_events` Events each (the oldest are
//   dropped first, and counted), at most `max_objects` objects (past that, an object with nothing
//   pending files nothing: its next poll submits again).
// - cancel(key): drops what is pending for the object (removed, paused, deleted, handed back);
//   a write in flight finishes. stop(): nothing more is written; in-flight writes finish (each is
//   bounded by the client's request timeout) and the threads are joined.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ebb/adapter/actuator.h"
#include "ebb/kube/rate_limit.h"

namespace ebb::adapter {

struct StatusWriterOptions {
  std::size_t threads = 2;
  std::size_t max_objects = 100'000;
  std::size_t max_events = 16;  // per object
  kube::Backoff retry{std::chrono::milliseconds(500), 2.0, std::chrono::seconds(30), 0.5};
};

struct StatusWriterStats {
  std::size_t pending = 0;           // objects with an update waiting (queued or backing off)
  std::size_t in_flight = 0;         // writes being made now
  std::uint64_t written = 0;         // updates written (or found already in place)
  std::uint64_t retried = 0;         // transient failures filed again
  std::uint64_t dropped = 0;         // updates given up: permanent failure, cancel, overflow
  std::uint64_t coalesced = 0;       // submits merged into a pending update
  std::uint64_t dropped_events = 0;  // Events past max_events
};

class StatusWriter : public StatusSink {
 public:
  StatusWriter(Actuator& actuator, StatusWriterOptions options = {});
  ~StatusWriter() override;  // stop()
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  void submit(const api::ScaledObject& so, StatusUpdate update, std::vector<Event> events) override;
  void cancel(const std::string& key);  // "namespace/name"
  void stop();
  // Tests: waits until nothing is pending or in flight; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  StatusWriterStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Field by field: what `newer` sets replaces what `older` set; the rest of `older` stays.
StatusUpdate merge_status_updates(StatusUpdate older, StatusUpdate newer);

}  // namespace ebb::adapter
