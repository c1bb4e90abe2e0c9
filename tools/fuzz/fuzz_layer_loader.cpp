// libFuzzer target for the layer-record loader (graph/layer_net_json.h): any input must either
// load or throw a netkit::Error / a JSON error; a loaded, initialized layer is evaluated in both
// modes and written back. Build with clang (see tools/CMakeLists.txt, NETKIT_FUZZ=ON) and run:
//   build-fuzz/tools/fuzz_layer_loader -max_total_time=60 -max_len=4096 tests/fuzz_corpus/layer
#include <cstdint>
#include <string>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net_json.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto doc = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size));
    const netkit::LayerNet net =
        netkit::layer_net_from_json(doc.is_object() && doc.contains("layer") ? doc["layer"] : doc);
    if (net.initialized() && net.layer().input_ports().size() == 1) {
      const netkit::Shape shape = net.port_shape(net.layer().input_ports()[0]);
      if (shape.known() && shape.num_elements() < 10000) {
        const netkit::Array x = netkit::Array::filled(shape.with_batch(2), 0.5f);
        net.evaluate_batch(x, netkit::Mode::Train);
        net.evaluate_batch(x, netkit::Mode::Test);
      }
    }
    (void)netkit::layer_net_to_json(net);
  } catch (const netkit::Error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
