// verikit::detail — which store a URL names, and opening it (the engine knows no store by name).
#pragma once

#include <memory>

#include "verikit/config.hpp"
#include "verikit/store.hpp"

namespace verikit::detail {

// "memory://[?capacity=N&reap_interval_ms=M]" (or empty): the embedded store;
// "file:///path/to/dir[?max_size_mb=N&durability=sync|nometasync|nosync&reap_interval_ms=M]":
// the file store shared by a machine's processes; "redis://",
// "rediss://", "unix://", "redis+cluster://", "redis+sentinel://" (and rediss+...): Redis.
// Anything else is a config error.
Expected<std::shared_ptr<Store>> open_store(const Config& config);
// Whether the URL names a store shared between processes (then every process needs the key).
bool names_shared_store(std::string_view url) noexcept;

}  // namespace verikit::detail
