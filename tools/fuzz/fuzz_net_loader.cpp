// libFuzzer target for the model-file loader (graph/net_json.h): any bytes must either load or
// throw a netkit::Error (anything else, a crash or a sanitizer report is a finding). A loaded net
// must save -> load -> save byte-identically, and a small initialized one is evaluated in both
// modes. Build with clang (tools/CMakeLists.txt, NETKIT_FUZZ=ON); .ci/run runs it for 60 s:
//   build-fuzz/tools/fuzz_net_loader -max_total_time=60 -max_len=8192 <copy of tests/fuzz_corpus/net>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include <netkit/core/error.h>
#include <netkit/graph/net_json.h>

namespace {

void evaluate_small(const netkit::Net& net) {
  if (!net.initialized()) return;
  std::map<std::string, netkit::Array> inputs;
  for (const auto& port : net.input_ports()) {
    const netkit::Shape shape = net.port_shape(port);
    if (!shape.known() || shape.num_elements() > 4096) return;
    inputs[port] = netkit::Array::filled(shape.with_batch(2), port == "Target" ? 0.0f : 0.5f);
  }
  for (netkit::Mode mode : {netkit::Mode::Test, netkit::Mode::Train}) {
    try {
      net.evaluate_batch(inputs, mode);
    } catch (const netkit::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const netkit::Net net = netkit::net_from_text(text);
    const std::string saved = netkit::net_to_text(net);
    const std::string again = netkit::net_to_text(netkit::net_from_text(saved));
    if (again != saved) std::abort();  // save -> load -> save must be byte-identical
    evaluate_small(net);
  } catch (const netkit::Error&) {
  }
  return 0;
}
