// Compiled with the include roots of the layers library only: graph/ is above layers/, so this
// include must not be found (the build enforces the layering).
#include <netkit/graph/net.h>
