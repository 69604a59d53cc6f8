// The operator's logs are the shared process logger (common/include/ebb/process/log.h).
#pragma once

#include "ebb/process/log.h"

namespace ebb::op::process {
using ebb::process::format_log_line;
using ebb::process::LogFields;
using ebb::process::Logger;
using ebb::process::LogLevel;
using ebb::process::parse_log_level;
}  // namespace ebb::op::process
