// verikit — every engine-level configuration option, once: its kind, name, C++ type, default,
// range and meaning. This list makes both the members of Config (verikit/config.hpp) and the
// schema that sets and lists options by name (verikit/schema.hpp: set_config_option,
// config_options; the C API's verikit_config_set_option; the bindings), so a new option is one
// line here, plus its row in the README's "Engine options" table (and, for typing, its keyword
// in the Python signature and its entry in index.d.ts, both held equal to this list by tests).
// Key material, the store URL and the event handler are not options: they stay typed (bytes,
// callbacks).
//
// VERIKIT_CONFIG_OPTION(kind, name, type, default, min, max, doc)
//   kind: text | boolean | integer | list
//   text: printable ASCII without spaces or braces, min..max bytes
//   boolean: true / false (also 1 / 0)
//   integer: a whole number in [min, max]
//   list: items separated by ',' (white space around each is ignored; "" is the empty list),
//         min..max items; setting one replaces the whole list
// Not a header of its own: include it only with VERIKIT_CONFIG_OPTION defined.

// clang-format off
VERIKIT_CONFIG_OPTION(text, key_prefix, std::string, "vk", 1, 64,
                      "prefix of every store key (several applications may share one store)")
// A shared store (Redis, file) keeps a key-check record: the tag of the index key its records are
// named with. "create": an engine that finds another tag is refused at start (a wrong key, or a
// rotation without the index key, would find no record and answer not_found for everything), and
// an absent record is made; "require": absent is refused too (command-line support tools: a
// mistyped prefix or store finds nothing); "off": no check.
VERIKIT_CONFIG_OPTION(text, key_check, std::string, "create", 3, 7,
                      "check the key against the store's key-check record at start: create, require or off")
// Off: every policy of the configuration without its abuse controls (failure budgets,
// cooldown, send limit, client-key limits, active cap), applied when the engine is made.
VERIKIT_CONFIG_OPTION(boolean, abuse_controls, bool, true, 0, 1,
                      "false turns every abuse control off in every policy (tests, limits enforced elsewhere; authenticator "
                      "and recovery codes keep the default failure budget)")
// Lifecycle events (README: "Events"): queued events beyond the capacity are dropped (counted in
// metrics()); with events_include_identifier an event carries the normalised identifier itself.
VERIKIT_CONFIG_OPTION(integer, event_queue_capacity, std::size_t, kDefaultEventQueueCapacity, 1,
                      static_cast<long long>(kMaxEventQueueCapacity), "events queued before they are dropped")
VERIKIT_CONFIG_OPTION(boolean, events_include_identifier, bool, false, 0, 1,
                      "events carry the normalised identifier itself (default: only its keyed tag)")
// Where magic links may point: origins "https://host[:port]". A base URL of another origin is
// refused (invalid_argument), so a forged Host header cannot send a user's link elsewhere.
// Empty: any https origin. http:// (base URLs and origins here) only with link_allow_http (for
// development on localhost). Each origin is checked when the engine is made (validate(Config)).
VERIKIT_CONFIG_OPTION(list, link_origins, std::vector<std::string>, {}, 0, 1000,
                      "origins magic links may point to, \"https://host[:port]\" (empty: any https origin)")
VERIKIT_CONFIG_OPTION(boolean, link_allow_http, bool, false, 0, 1,
                      "allow http:// base URLs and origins (development on localhost)")
// clang-format on
