#ifndef VOSTMOUNT_CGIT2_SHIM_H
#define VOSTMOUNT_CGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <sys/types.h>
#include <zlib.h>

/* git_libgit2_opts is variadic, which Swift cannot call: one typed shim per shape we use. */
static inline int vost_git_cache_object_limit(git_object_t type, size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, bytes);
}
static inline int vost_git_cache_max_size(ssize_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, bytes);
}
static inline int vost_git_enable_strict_object_creation(int on) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, on);
}
static inline int vost_git_enable_strict_hash_verification(int on) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, on);
}

/* Linux calls Glibc's module shows only with _GNU_SOURCE. */
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
static inline int vost_syncfs(int fd) { return (int)syscall(SYS_syncfs, fd); }
#include <fcntl.h>
static inline int vost_pipe_cloexec(int fds[2]) { return (int)syscall(SYS_pipe2, fds, O_CLOEXEC); }

/* openat2(2) (Linux 5.6+), which glibc 2.36 does not wrap: opens `path` below `dirfd` with
   `resolve` (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS...). -1 with errno ENOSYS on older kernels. */
#include <linux/openat2.h>
static inline int vost_openat2(int dirfd, const char *path, int flags, unsigned mode, unsigned long long resolve) {
#ifdef SYS_openat2
    struct open_how how = { .flags = (unsigned long long)(unsigned)flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    errno = ENOSYS;
    return -1;
#endif
}
static inline unsigned long long vost_resolve_beneath_no_symlinks(void) {
    return RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
}

/* posix_spawn's flag for a child in a session of its own (no controlling terminal), which
   glibc defines only with _GNU_SOURCE. */
#include <spawn.h>
static inline short vost_spawn_setsid_flag(void) {
#ifdef POSIX_SPAWN_SETSID
    return POSIX_SPAWN_SETSID;
#else
    return 0x80;
#endif
}
#endif
