// verikit — validation of policies and configurations, and outcome names.
#include "verikit/config.hpp"
#include "verikit/engine.hpp"
#include "verikit/result.hpp"
#include "verikit/schema.hpp"

#include "engine/inputs.hpp"
#include "engine/link.hpp"
#include "engine/token_format.hpp"

namespace verikit {
namespace {
Error bad(const std::string& what) { return make_error(Errc::config, what); }
}  // namespace

// Each field's range comes from the schema (verikit/schema.hpp); no rule across fields yet.
Status validate(const Policy& p) { return check_policy_fields(p); }

Status validate(const Config& c) {
  if (auto s = validate(c.default_policy); !s) return Error{s.error().code, "default " + s.error().message};
  for (const auto& [purpose, policy] : c.policies) {
    if (auto s = detail::check_purpose(purpose); !s) return bad("policy name: " + s.error().message);
    if (auto s = validate(policy); !s) return Error{s.error().code, "purpose '" + purpose + "': " + s.error().message};
  }
  if (auto s = check_config_options(c); !s) return s;  // each option's range (verikit/config_fields.hpp)
  for (const std::string& origin : c.link_origins) {
    auto canonical = detail::canonical_origin(origin);
    if (!canonical) return bad("link_origins: " + canonical.error().message);
    if (canonical->starts_with("http:") && !c.link_allow_http)
      return bad("link_origins: '" + origin + "' is http://: set link_allow_http to allow it");
  }
  return Unit{};
}

}  // namespace verikit
