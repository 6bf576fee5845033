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
/* Replies to a read with `size` bytes of `fd` at `offset`: libfuse splices them from the
   file to the kernel (with FUSE_CAP_SPLICE_WRITE), never copying them through our memory. */
static inline int vost_reply_fd(fuse_req_t req, int fd, off_t offset, size_t size) {
    struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(size);
    bufv.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    bufv.buf[0].fd = fd;
    bufv.buf[0].pos = offset;
    return fuse_reply_data(req, &bufv, FUSE_BUF_SPLICE_MOVE);
}
#endif
