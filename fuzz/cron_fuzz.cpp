// The cron trigger's schedule parser and next-fire search (robfig/cron port): line 1 is a time
// zone name, line 2 a spec. Next fires are computed from a few instants, across DST edges.
// Property besides memory safety and termination: a next fire is strictly after the instant
// asked about, or the zero time.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cron/schedule.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ebb::scalers;
  std::string_view in = ebb::fuzz::as_text(data, size);
  const std::string_view zone_name = ebb::fuzz::take(in);
  const std::string_view spec = ebb::fuzz::take(in);
  (void)cron::metric_name_part(spec);
  auto schedule = cron::parse(spec);
  auto zone = cron::load_location(zone_name);
  if (!schedule.ok() || !zone.ok()) return 0;
  // 2024-03-31 00:30 UTC (DST starts in Europe), 2024-10-27 00:30 UTC (ends), 2024-02-29 12:00.
  static const std::int64_t kStarts[] = {1711845000, 1729989000, 1709208000};
  for (std::int64_t start : kStarts) {
    const cron::Instant t{start, 0};
    auto next = cron::next(*schedule, t, *zone);
    if (!next.ok()) continue;
    if (*next != cron::kZeroTime && *next <= t)
      ebb::fuzz::fail("next() is not after the start", spec);
    (void)cron::active(t, *next, t);
  }
  return 0;
}
