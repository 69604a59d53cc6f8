// What a controller asks of the code that does its work, as controller-runtime's
// reconcile.Reconciler: one level-triggered, idempotent pass over the object a key names.
// Events only say *which* key to look at; the pass reads the current state itself, so running
// it twice in a row, after a restart or after missed events, changes nothing the second time.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace ebb::runtime {

// What one pass asks for next. The only result type of a reconcile in Ebb.
struct ReconcileResult {
  // Empty: success. Else the reason the pass failed (already written as a condition, Event or
  // log by the reconciler); the controller retries the key with per-key backoff.
  std::string error;
  // Requeue after this long even on success (e.g. waiting for a missing scale target).
  std::optional<std::chrono::milliseconds> requeue_after;
  bool ok() const { return error.empty(); }
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // key = "namespace/name" (or "name" for a cluster-scoped object). Called by one worker at a
  // time per key; may be called concurrently for different keys. An exception counts as a
  // failed pass.
  virtual ReconcileResult reconcile(const std::string& key) = 0;
};

}  // namespace ebb::runtime
