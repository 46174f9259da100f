// verikit — the policy and engine-option schema: one table of policy fields and one of engine
// options, used to set, read and check them by name.
#include "verikit/schema.hpp"

#include <charconv>
#include <climits>
#include <functional>
#include <vector>

#include "engine/token_format.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

constexpr long long kMaxTtlSeconds = 30 * 86400;
static_assert(detail::kMinTokenBytes == 16 && detail::kMaxTokenBytes == 64,
              "token_bytes' range in verikit/policy_fields.hpp is the token format's");

// How a field is read from and written to a Policy: through one of its members, or (choices)
// through a pair of functions on its index in `choices`.
struct Field {
  FieldInfo info;
  int Policy::* integer = nullptr;
  std::chrono::seconds Policy::* seconds = nullptr;
  bool Policy::* boolean = nullptr;
  RateLimit Policy::* limit = nullptr;
  std::string Policy::* text = nullptr;
  std::function<int(const Policy&)> get_choice;
  std::function<void(Policy&, int)> set_choice;
};

// One maker per kind, each with the signature of a VERIKIT_POLICY_FIELD line.
Field integer(std::string_view name, int Policy::* m, long long lo, long long hi, std::string_view, std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::integer, lo, hi, {}, doc};
  f.integer = m;
  return f;
}
Field seconds(std::string_view name, std::chrono::seconds Policy::* m, long long lo, long long hi, std::string_view,
              std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::seconds, lo, hi, {}, doc};
  f.seconds = m;
  return f;
}
Field boolean(std::string_view name, bool Policy::* m, long long, long long, std::string_view, std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::boolean, 0, 1, {}, doc};
  f.boolean = m;
  return f;
}
Field rate_limit(std::string_view name, RateLimit Policy::* m, long long, long long, std::string_view,
                 std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::rate_limit, 0, 1000000, {}, doc};
  f.limit = m;
  return f;
}
Field text(std::string_view name, std::string Policy::* m, long long lo, long long hi, std::string_view,
           std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::text, lo, hi, {}, doc};
  f.text = m;
  return f;
}
template <class Enum>
Field choice(std::string_view name, Enum Policy::* m, long long, long long, std::string_view choices,
             std::string_view doc) {
  Field f;
  f.info = FieldInfo{name, FieldType::choice, 0, 0, choices, doc};
  f.get_choice = [m](const Policy& p) { return static_cast<int>(p.*m); };
  f.set_choice = [m](Policy& p, int i) { p.*m = static_cast<Enum>(i); };
  return f;
}

const std::vector<Field>& fields() {
  static const std::vector<Field> all = [] {
    std::vector<Field> v;
#define VERIKIT_POLICY_FIELD(kind, name, type, init, min, max, choices, doc) \
  v.push_back(kind(#name, &Policy::name, min, max, choices, doc));
#include "verikit/policy_fields.hpp"
#undef VERIKIT_POLICY_FIELD
    return v;
  }();
  return all;
}

const Field* find(std::string_view name) {
  for (const Field& f : fields())
    if (f.info.name == name) return &f;
  return nullptr;
}

Error bad_value(const Field& f, std::string_view value, std::string_view want) {
  return make_error(Errc::invalid_argument, "policy " + std::string(f.info.name) + ": '" + std::string(value) +
                                                "' is not " + std::string(want));
}
// `kind`: "policy " for policy fields, "" for engine options (whose names say what they are).
Error out_of_range(std::string_view name, const std::string& what, std::string_view kind = "policy ") {
  return make_error(Errc::config, std::string(kind) + std::string(name) + " " + what);
}

// A whole number; one too large for 64 bits saturates (and then fails its range check).
std::optional<long long> parse_int(std::string_view s) {
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return s[0] == '-' ? LLONG_MIN : LLONG_MAX;
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

Status check_range(std::string_view name, long long v, long long lo, long long hi, std::string_view unit = "",
                   std::string_view kind = "policy ") {
  if (v < lo || v > hi)
    return out_of_range(name, "must be " + std::to_string(lo) + " to " + std::to_string(hi) + std::string(unit), kind);
  return Unit{};
}

Status check_limit(std::string_view name, const RateLimit& l) {
  if (l.count < 0 || l.count > 1000000) return out_of_range(name, "count must be 0 to 1000000");
  if (l.count == 0) return Unit{};
  if (l.period.count() < 1 || l.period.count() > kMaxTtlSeconds) return out_of_range(name, "period must be 1 second to 30 days");
  if (l.burst < 1 || l.burst > 1000000) return out_of_range(name, "burst must be 1 to 1000000");
  return Unit{};
}

Status check_field(const Field& f, const Policy& p) {
  const std::string_view n = f.info.name;
  switch (f.info.type) {
    case FieldType::integer: return check_range(n, p.*f.integer, f.info.min, f.info.max);
    case FieldType::seconds: return check_range(n, (p.*f.seconds).count(), f.info.min, f.info.max, " seconds");
    case FieldType::boolean:
    case FieldType::list: return Unit{};  // no policy field is a list
    case FieldType::choice: {
      const int i = f.get_choice(p);
      if (i < 0 || i >= static_cast<int>(split(f.info.choices, '|').size())) return out_of_range(n, "is not a known value");
      return Unit{};
    }
    case FieldType::rate_limit: return check_limit(n, p.*f.limit);
    case FieldType::text: {
      const std::string& t = p.*f.text;
      if (static_cast<long long>(t.size()) < f.info.min || static_cast<long long>(t.size()) > f.info.max)
        return out_of_range(n, "must be " + std::to_string(f.info.min) + " to " + std::to_string(f.info.max) + " bytes");
      for (char c : t)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
          return out_of_range(n, "may hold only letters, digits, '_', '-' and '.'");
      return Unit{};
    }
  }
  return Unit{};
}


// ---- engine options (verikit/config_fields.hpp) ----

// How an option is read from and written to a Config: through one of its members.
struct Option {
  FieldInfo info;
  std::string Config::* text = nullptr;
  bool Config::* boolean = nullptr;
  std::size_t Config::* integer = nullptr;
  std::vector<std::string> Config::* list = nullptr;
};

// One maker per kind, each with the signature of a VERIKIT_CONFIG_OPTION line.
Option option_of(FieldType type, std::string_view name, long long lo, long long hi, std::string_view doc) {
  Option o;
  o.info = FieldInfo{name, type, lo, hi, {}, doc};
  return o;
}
Option option_text(std::string_view name, std::string Config::* m, long long lo, long long hi, std::string_view doc) {
  Option o = option_of(FieldType::text, name, lo, hi, doc);
  o.text = m;
  return o;
}
Option option_boolean(std::string_view name, bool Config::* m, long long, long long, std::string_view doc) {
  Option o = option_of(FieldType::boolean, name, 0, 1, doc);
  o.boolean = m;
  return o;
}
Option option_integer(std::string_view name, std::size_t Config::* m, long long lo, long long hi, std::string_view doc) {
  Option o = option_of(FieldType::integer, name, lo, hi, doc);
  o.integer = m;
  return o;
}
Option option_list(std::string_view name, std::vector<std::string> Config::* m, long long lo, long long hi,
                   std::string_view doc) {
  Option o = option_of(FieldType::list, name, lo, hi, doc);
  o.list = m;
  return o;
}

const std::vector<Option>& options() {
  static const std::vector<Option> all = [] {
    std::vector<Option> v;
#define VERIKIT_CONFIG_OPTION(kind, name, type, init, min, max, doc) \
  v.push_back(option_##kind(#name, &Config::name, min, max, doc));
#include "verikit/config_fields.hpp"
#undef VERIKIT_CONFIG_OPTION
    return v;
  }();
  return all;
}

const Option* find_option(std::string_view name) {
  for (const Option& o : options())
    if (o.info.name == name) return &o;
  return nullptr;
}

Error unknown_option(std::string_view name) {
  return make_error(Errc::invalid_argument, "unknown configuration option '" + std::string(name) + "'");
}
Error bad_option_value(const Option& o, std::string_view value, std::string_view want) {
  return make_error(Errc::invalid_argument,
                    std::string(o.info.name) + ": '" + std::string(value) + "' is not " + std::string(want));
}

// Text options: printable ASCII without spaces or braces (store keys are made of them).
Status check_option_text(const FieldInfo& f, const std::string& t) {
  if (static_cast<long long>(t.size()) < f.min || static_cast<long long>(t.size()) > f.max)
    return out_of_range(f.name, "must be " + std::to_string(f.min) + " to " + std::to_string(f.max) + " bytes", "");
  for (char ch : t)
    if (ch <= 0x20 || ch >= 0x7f || ch == '{' || ch == '}')
      return out_of_range(f.name, "must be printable ASCII without spaces or braces", "");
  if (std::string_view(f.name) == "key_check" && t != "create" && t != "require" && t != "off")
    return out_of_range(f.name, "must be create, require or off", "");  // (refused when set, not at start)
  return Unit{};
}
Status check_option_list(const FieldInfo& f, const std::vector<std::string>& items) {
  const auto n = static_cast<long long>(items.size());
  if (n < f.min || n > f.max)
    return out_of_range(f.name, "must have " + std::to_string(f.min) + " to " + std::to_string(f.max) + " items", "");
  return Unit{};
}
Status check_option(const Option& o, const Config& c) {
  switch (o.info.type) {
    case FieldType::text: return check_option_text(o.info, c.*o.text);
    case FieldType::integer: {
      const std::size_t v = c.*o.integer;
      return check_range(o.info.name, v > static_cast<std::size_t>(LLONG_MAX) ? LLONG_MAX : static_cast<long long>(v),
                         o.info.min, o.info.max, "", "");
    }
    case FieldType::list: return check_option_list(o.info, c.*o.list);
    default: return Unit{};  // boolean
  }
}

std::string_view trim_ascii(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* to_string(FieldType type) noexcept {
  switch (type) {
    case FieldType::integer: return "integer";
    case FieldType::seconds: return "seconds";
    case FieldType::boolean: return "boolean";
    case FieldType::choice: return "choice";
    case FieldType::rate_limit: return "rate_limit";
    case FieldType::text: return "text";
    case FieldType::list: return "list";
  }
  return "unknown";
}

std::span<const FieldInfo> policy_fields() noexcept {
  static const std::vector<FieldInfo> infos = [] {
    std::vector<FieldInfo> v;
    for (const Field& f : fields()) v.push_back(f.info);
    return v;
  }();
  return infos;
}

Status set_policy_field(Policy& p, std::string_view name, std::string_view value) {
  const Field* f = find(name);
  if (f == nullptr) return make_error(Errc::invalid_argument, "unknown policy field '" + std::string(name) + "'");
  Policy next = p;  // a failed set changes nothing
  switch (f->info.type) {
    case FieldType::integer:
    case FieldType::seconds: {
      auto v = parse_int(value);
      if (!v) return bad_value(*f, value, "a whole number");
      if (auto s = check_range(f->info.name, *v, f->info.min, f->info.max); !s) return s;
      if (f->integer) next.*f->integer = static_cast<int>(*v);
      else next.*f->seconds = std::chrono::seconds(*v);
      break;
    }
    case FieldType::boolean:
      if (value == "true" || value == "1") next.*f->boolean = true;
      else if (value == "false" || value == "0") next.*f->boolean = false;
      else return bad_value(*f, value, "true or false");
      break;
    case FieldType::choice: {
      const auto names = split(f->info.choices, '|');
      auto it = std::find(names.begin(), names.end(), value);
      if (it == names.end()) return bad_value(*f, value, "one of " + std::string(f->info.choices));
      f->set_choice(next, static_cast<int>(it - names.begin()));
      break;
    }
    case FieldType::rate_limit: {
      if (value == "off" || value == "false" || value == "0") {
        next.*f->limit = RateLimit{};
        break;
      }
      const auto parts = split(value, '/');
      std::optional<long long> c, per, b;
      if (parts.size() == 3) c = parse_int(parts[0]), per = parse_int(parts[1]), b = parse_int(parts[2]);
      if (!c || !per || !b) return bad_value(*f, value, "count/period_seconds/burst (whole numbers) or off");
      auto clamp = [](long long x) { return static_cast<int>(std::clamp<long long>(x, -1, 1'000'000'000)); };
      next.*f->limit = RateLimit{clamp(*c), std::chrono::seconds(std::clamp<long long>(*per, -1, kMaxTtlSeconds + 1)),
                                 clamp(*b)};
      if (auto s = check_limit(f->info.name, next.*f->limit); !s) return s;
      break;
    }
    case FieldType::text:
      next.*f->text = std::string(value);
      if (auto s = check_field(*f, next); !s) return s;
      break;
    case FieldType::list: return make_error(Errc::internal, "no policy field is a list");
  }
  p = std::move(next);
  return Unit{};
}

Expected<std::string> get_policy_field(const Policy& p, std::string_view name) {
  const Field* f = find(name);
  if (f == nullptr) return make_error(Errc::invalid_argument, "unknown policy field '" + std::string(name) + "'");
  switch (f->info.type) {
    case FieldType::integer: return std::to_string(p.*f->integer);
    case FieldType::seconds: return std::to_string((p.*f->seconds).count());
    case FieldType::boolean: return std::string(p.*f->boolean ? "true" : "false");
    case FieldType::choice: {
      const auto names = split(f->info.choices, '|');
      const int i = f->get_choice(p);
      if (i < 0 || i >= static_cast<int>(names.size())) return make_error(Errc::config, "policy " + std::string(name) + " is not a known value");
      return std::string(names[static_cast<std::size_t>(i)]);
    }
    case FieldType::rate_limit: {
      const RateLimit& l = p.*f->limit;
      if (!l.enabled()) return std::string("off");
      return std::to_string(l.count) + "/" + std::to_string(l.period.count()) + "/" + std::to_string(l.burst);
    }
    case FieldType::text: return p.*f->text;
    case FieldType::list: break;
  }
  return make_error(Errc::internal, "unknown field type");
}

Status check_policy_fields(const Policy& p) {
  for (const Field& f : fields())
    if (auto s = check_field(f, p); !s) return s;
  return Unit{};
}

std::span<const FieldInfo> config_options() noexcept {
  static const std::vector<FieldInfo> infos = [] {
    std::vector<FieldInfo> v;
    for (const Option& o : options()) v.push_back(o.info);
    return v;
  }();
  return infos;
}

Status set_config_option(Config& c, std::string_view name, std::string_view value) {
  const Option* o = find_option(name);
  if (o == nullptr) return unknown_option(name);
  const FieldInfo& f = o->info;
  switch (f.type) {  // each case checks the new value before it changes anything
    case FieldType::text: {
      std::string t(value);
      if (auto s = check_option_text(f, t); !s) return s;
      c.*o->text = std::move(t);
      return Unit{};
    }
    case FieldType::boolean:
      if (value == "true" || value == "1") c.*o->boolean = true;
      else if (value == "false" || value == "0") c.*o->boolean = false;
      else return bad_option_value(*o, value, "true or false");
      return Unit{};
    case FieldType::integer: {
      auto v = parse_int(value);
      if (!v) return bad_option_value(*o, value, "a whole number");
      if (auto s = check_range(f.name, *v, f.min, f.max, "", ""); !s) return s;
      c.*o->integer = static_cast<std::size_t>(*v);
      return Unit{};
    }
    case FieldType::list: {
      std::vector<std::string> items;
      if (!trim_ascii(value).empty()) {
        for (std::string_view item : split(value, ',')) {
          item = trim_ascii(item);
          if (item.empty()) return bad_option_value(*o, value, "a list of items separated by ','");
          items.emplace_back(item);
        }
      }
      if (auto s = check_option_list(f, items); !s) return s;
      c.*o->list = std::move(items);
      return Unit{};
    }
    default: return make_error(Errc::internal, "engine option of an unknown type");
  }
}

Expected<std::string> get_config_option(const Config& c, std::string_view name) {
  const Option* o = find_option(name);
  if (o == nullptr) return unknown_option(name);
  switch (o->info.type) {
    case FieldType::text: return c.*o->text;
    case FieldType::boolean: return std::string(c.*o->boolean ? "true" : "false");
    case FieldType::integer: return std::to_string(c.*o->integer);
    case FieldType::list: {
      std::string out;
      for (const std::string& item : c.*o->list) out += (out.empty() ? "" : ",") + item;
      return out;
    }
    default: return make_error(Errc::internal, "engine option of an unknown type");
  }
}

Status check_config_options(const Config& c) {
  for (const Option& o : options())
    if (auto s = check_option(o, c); !s) return s;
  return Unit{};
}

}  // namespace verikit
