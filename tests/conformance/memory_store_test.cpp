// The conformance suite on the embedded store (with a manual clock).
#include "conformance/conformance.hpp"

namespace verikit::test {

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"memory", [] { return std::make_unique<MemoryHarness>(); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test
