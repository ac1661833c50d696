// The libfuse3 low-level API at the version this component is written for
// (3.12: fuse_loop_cfg_* for the multithreaded loop).
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>
