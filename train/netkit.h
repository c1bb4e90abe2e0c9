// Everything a program needs to define, run, train, save and load nets: include this one header
// and link netkit::netkit.
#pragma once

#include <netkit/core/array.h>
#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>
#include <netkit/layers/registry.h>
#include <netkit/train/dataset.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/function_dataset.h>
#include <netkit/train/idx_dataset.h>
#include <netkit/train/net_train.h>
