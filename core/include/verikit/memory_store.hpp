// verikit — the embedded in-process store: thread-safe, every operation atomic, with an
// injectable clock. Records expire lazily and are swept as the store is written.
#pragma once

#include <memory>

#include "verikit/clock.hpp"
#include "verikit/store.hpp"

namespace verikit {

// With no clock, the system clock.
std::shared_ptr<Store> make_memory_store(std::shared_ptr<const Clock> clock = nullptr);

}  // namespace verikit
