#ifndef VOSTMOUNT_CFUSE_SHIM_H
#define VOSTMOUNT_CFUSE_SHIM_H
/* libfuse 3.14 (Debian 12) is the oldest we support; pin the API level once here. */
#define FUSE_USE_VERSION 314
#include <stddef.h>
#include <fuse_lowlevel.h>

/* Puts `size` bytes at offset 0 of inode `ino` into the kernel's page cache (FUSE_NOTIFY_STORE).
   FUSE_BUFVEC_INIT is a macro, so the vector is built here rather than in Swift. */
static inline int vost_notify_store(struct fuse_session *se, fuse_ino_t ino, const void *data, size_t size) {
    struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(size);
    bufv.buf[0].mem = (void *)data;
    return fuse_lowlevel_notify_store(se, ino, 0, &bufv, 0);
}
#endif
