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

/* FUSE passthrough (Linux 6.9): the kernel reads a file's content straight from a backing file
   the daemon names at open. libfuse 3.14 and Debian 12's <linux/fuse.h> predate it, so the
   parts used here are spelled out as the kernel defines them (include/uapi/linux/fuse.h). */
#include <stdint.h>
#include <errno.h>
#include <sys/ioctl.h>
#define VOST_FUSE_INIT_EXT (1u << 30)        /* init flags: flags2 is read */
#define VOST_FUSE2_PASSTHROUGH (1u << 5)     /* init flags2: FUSE_PASSTHROUGH, bit 37 of the flags */
#define VOST_FOPEN_PASSTHROUGH (1u << 7)     /* open_flags */
/* The head of the kernel's fuse_init_out, up to the field libfuse 3.14 leaves zero. */
struct vost_init_out {
    uint32_t major, minor, max_readahead, flags;
    uint16_t max_background, congestion_threshold;
    uint32_t max_write, time_gran;
    uint16_t max_pages, map_alignment;
    uint32_t flags2, max_stack_depth;
};
/* The kernel's fuse_open_out: libfuse 3.14 calls the last field padding and sends 0. */
struct vost_open_out { uint64_t fh; uint32_t open_flags; int32_t backing_id; };
struct vost_backing_map { int32_t fd; uint32_t flags; uint64_t padding; };

/* Registers `fd` as a backing file on the session's device: its id (> 0), or -errno
   (EPERM without CAP_SYS_ADMIN or when the kernel did not agree to passthrough, ENOTTY
   before Linux 6.9, ELOOP when `fd` is itself on a stacked filesystem too deep). */
static inline int vost_backing_open(int device, int fd) {
    struct vost_backing_map map = { fd, 0, 0 };
    int id = ioctl(device, _IOW(229, 1, struct vost_backing_map), &map);
    return id < 0 ? -errno : id;
}
/* Drops the id; files the kernel opened through it keep the backing file open. */
static inline int vost_backing_close(int device, int id) {
    uint32_t value = (uint32_t)id;
    return ioctl(device, _IOW(229, 2, uint32_t), &value) < 0 ? -errno : 0;
}
/* Whether `path` is on a filesystem stacked on another (overlayfs, as in containers, or
   ecryptfs): a backing file there counts one level deeper. */
#include <sys/vfs.h>
static inline int vost_is_stacked(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return 0;
    return info.f_type == 0x794c7630 || info.f_type == 0xf15f;
}
/* splice(2), for the custom I/O below libfuse (glibc declares it only under _GNU_SOURCE). */
static inline ssize_t vost_splice(int in, off_t *inOffset, int out, off_t *outOffset, size_t length, unsigned int flags) {
    extern ssize_t splice(int, off_t *, int, off_t *, size_t, unsigned int);
    return splice(in, inOffset, out, outOffset, length, flags);
}
#endif
