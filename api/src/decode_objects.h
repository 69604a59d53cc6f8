// Typed readers behind decode_*(): they fill `out` and report problems into `ctx`.
#pragma once

#include <nlohmann/json.hpp>

#include "decode_context.h"
#include "ebb/api/objects.h"

namespace ebb::api::detail {

bool read_scaled_object(const nlohmann::json& value, DecodeContext& ctx, ScaledObject& out);
bool read_scaled_job(const nlohmann::json& value, DecodeContext& ctx, ScaledJob& out);
bool read_trigger_authentication(const nlohmann::json& value, DecodeContext& ctx,
                                 TriggerAuthentication& out);

}  // namespace ebb::api::detail
