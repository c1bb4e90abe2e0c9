// Compiled with the include roots of the layers library only: a header of its own folder and one
// of core below it must be found (the control for layers_sees_graph.cpp).
#include <netkit/core/array.h>
#include <netkit/layers/layer.h>
