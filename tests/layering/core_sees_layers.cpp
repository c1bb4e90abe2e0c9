// Compiled with the include root of the core library only: layers/ is above core/, so this
// include must not be found.
#include <netkit/layers/layer.h>
