// verikit C API — the store check for operators (verikit_store_check): a shim over
// verikit::check_redis_store.
#include "capi_internal.hpp"
#include "verikit/redis_store.hpp"

struct verikit_store_report {
  std::vector<verikit::StoreCheck> items;
};

using verikit::capi::guard;
using verikit::capi::set_error;

static_assert(static_cast<int>(verikit::StoreCheck::Verdict::ok) == VERIKIT_CHECK_OK);
static_assert(static_cast<int>(verikit::StoreCheck::Verdict::warn) == VERIKIT_CHECK_WARN);
static_assert(static_cast<int>(verikit::StoreCheck::Verdict::fail) == VERIKIT_CHECK_FAIL);

extern "C" {

VERIKIT_EXTERN(int) verikit_store_check(verikit_store_report** out, const verikit_config* config,
                                        uint64_t pending_credentials) {
  return guard([&] {
    if (out != nullptr) *out = nullptr;
    if (out == nullptr || config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "out or config is NULL");
    auto items = verikit::check_redis_store(config->config, pending_credentials);
    if (!items) return set_error(items.error());
    *out = new verikit_store_report{std::move(items).value()};
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(size_t) verikit_store_report_count(const verikit_store_report* report) {
  return report == nullptr ? 0 : report->items.size();
}

VERIKIT_EXTERN(int) verikit_store_report_item(const verikit_store_report* report, size_t i, const char** name_out,
                                              int* verdict_out, const char** detail_out) {
  return guard([&] {
    if (report == nullptr || i >= report->items.size())
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "report is NULL or the item index is out of range");
    const auto& item = report->items[i];
    if (name_out != nullptr) *name_out = item.item.c_str();
    if (verdict_out != nullptr) *verdict_out = static_cast<int>(item.verdict);
    if (detail_out != nullptr) *detail_out = item.detail.c_str();
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(void) verikit_store_report_free(verikit_store_report* report) { delete report; }

}  // extern "C"
