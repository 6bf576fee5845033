#ifndef VOSTMOUNT_CFUSE_SHIM_H
#define VOSTMOUNT_CFUSE_SHIM_H
/* libfuse 3.14 (Debian 12) is the oldest we support; pin the API level once here. */
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#endif
