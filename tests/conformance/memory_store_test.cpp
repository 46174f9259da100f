// The conformance suite on the embedded store (with a manual clock).
#include "conformance/conformance.hpp"

namespace verikit::test {

INSTANTIATE_TEST_SUITE_P(Stores, Conformance,
                         ::testing::Values(HarnessFactory{"memory", [] { return std::make_unique<MemoryHarness>(); }}),
                         harness_name);

}  // namespace verikit::test
