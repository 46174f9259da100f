// verikit — the C++ API in one include (internal: not ABI-stable; the ABI is verikit.h).
#pragma once

#include "verikit/clock.hpp"
#include "verikit/config.hpp"
#include "verikit/engine.hpp"
#include "verikit/error.hpp"
#include "verikit/event.hpp"
#include "verikit/file_store.hpp"
#include "verikit/memory_store.hpp"
#include "verikit/result.hpp"
#include "verikit/schema.hpp"
#include "verikit/secret.hpp"
#include "verikit/store.hpp"
