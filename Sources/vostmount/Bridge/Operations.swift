import CFuse
import Foundation
import SnapshotFS

/// The table of C callbacks. Each is a trampoline: recover the `Filesystem` from the
/// request, copy the arguments into Swift values, call one method, reply once.
enum Operations {
    static func make() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            guard let conn, let userdata else { return }
            let fs = Unmanaged<Filesystem>.fromOpaque(userdata).takeUnretainedValue()
            // Large reads and readdirplus cut round trips; async reads let the kernel keep
            // several reads of one file in flight.
            conn.pointee.max_readahead = 1 << 20
            if conn.pointee.capable & UInt32(FUSE_CAP_READDIRPLUS) != 0 { conn.pointee.want |= UInt32(FUSE_CAP_READDIRPLUS) }
            if conn.pointee.capable & UInt32(FUSE_CAP_ASYNC_READ) != 0 { conn.pointee.want |= UInt32(FUSE_CAP_ASYNC_READ) }
            // O_TRUNC arrives with the open instead of as a separate setattr round trip.
            if conn.pointee.capable & UInt32(FUSE_CAP_ATOMIC_O_TRUNC) != 0 { conn.pointee.want |= UInt32(FUSE_CAP_ATOMIC_O_TRUNC) }
            // Reads of LFS objects are spliced from the store file to the kernel (`vost_reply_fd`).
            if conn.pointee.capable & UInt32(FUSE_CAP_SPLICE_WRITE) != 0 { conn.pointee.want |= UInt32(FUSE_CAP_SPLICE_WRITE) }
            // libfuse turns on "auto inval data": the kernel then drops a file's whole page
            // cache whenever a getattr shows a new mtime, which every file just written does
            // (the first `ls -l` after writing 1 GiB spent 150 ms dropping 1 GiB of pages).
            // Nothing needs it here: only this mount writes a node's content, and when a
            // commit or another writer changes it, `forward` invalidates exactly that inode.
            conn.pointee.want &= ~UInt32(FUSE_CAP_AUTO_INVAL_DATA)
            // Directories need no open handle: the kernel then skips opendir/releasedir (two
            // round trips per directory of a walk) and keeps listings cached until told
            // otherwise, which the tip watcher does for exactly the directories that change.
            if conn.pointee.capable & UInt32(FUSE_CAP_NO_OPENDIR_SUPPORT) != 0 { fs.noOpendir = true }
            // On a mount that never writes, files need none either: open and release are a
            // warm read's only round trips (a file whose pages the kernel holds). A writable
            // mount needs release to know when nothing is open for writing, which the commit
            // policy waits for, so it keeps them unless told otherwise (--no-open: a file
            // written without an open counts as open until quiet, see `UnopenedWriters`).
            // Reading an LFS object through its backing file needs an open, though.
            if conn.pointee.capable & UInt32(FUSE_CAP_NO_OPEN_SUPPORT) != 0, !fs.seeksBackingFiles,
               fs.config.readOnly || fs.config.noOpen {
                fs.noOpen = true
                // An O_TRUNC open must come as a truncate: the open that would do it never comes.
                conn.pointee.want &= ~UInt32(FUSE_CAP_ATOMIC_O_TRUNC)
            }
            fs.logger.debug("init: kernel protocol \(conn.pointee.proto_major).\(conn.pointee.proto_minor)")
        }
        ops.lookup = { req, parent, name in
            answer(req) { fs in
                let parentNode = try fs.node(UInt64(parent))
                let child = try fs.child(of: parentNode, named: nameBytes(name))
                let attr = try fs.attributes(child, id: 0)
                let id = fs.inodes.lookedUp(child)
                var withIno = attr
                withIno.st_ino = ino_t(id)
                Reply.entry(req, id: id, attr: withIno, attrTimeout: fs.attrTimeout(child),
                            entryTimeout: fs.entryTimeout(parent: parentNode, child: child))
            }
        }
        ops.forget = { req, ino, count in
            if let data = fuse_req_userdata(req) {
                let fs = Unmanaged<Filesystem>.fromOpaque(data).takeUnretainedValue()
                if !fs.inodes.forget(UInt64(ino), count) { fs.logger.error("kernel forgot inode \(ino) more times than it looked it up") }
            }
            fuse_reply_none(req)
        }
        ops.forget_multi = { req, count, forgets in
            if let data = fuse_req_userdata(req), let forgets {
                let fs = Unmanaged<Filesystem>.fromOpaque(data).takeUnretainedValue()
                for i in 0..<count {
                    if !fs.inodes.forget(UInt64(forgets[i].ino), forgets[i].nlookup) {
                        fs.logger.error("kernel forgot inode \(forgets[i].ino) more times than it looked it up")
                    }
                }
            }
            fuse_reply_none(req)
        }
        ops.getattr = { req, ino, _ in
            answer(req) { fs in
                let node = try fs.node(UInt64(ino))
                Reply.attr(req, try fs.attributes(node, id: UInt64(ino)), timeout: fs.attrTimeout(node))
            }
        }
        ops.readlink = { req, ino in
            answer(req) { fs in Reply.readlink(req, try fs.readlink(UInt64(ino))) }
        }
        ops.open = { req, ino, fi in
            answer(req) { fs in
                guard let fi else { throw Errno.invalid }
                if fs.noOpen, fi.pointee.flags & O_ACCMODE == O_RDONLY { throw Errno(code: ENOSYS) }
                let opened = try fs.open(UInt64(ino), flags: fi.pointee.flags)
                fi.pointee.fh = opened.handle
                fi.pointee.keep_cache = opened.keepCache ? 1 : 0
                // `@/status` is made at each open and its size changes: no page cache.
                if opened.directIO { fi.pointee.direct_io = 1 }
                // A file opened only to read has nothing to flush: close costs no round trip.
                if fi.pointee.flags & O_ACCMODE == O_RDONLY && fi.pointee.flags & O_TRUNC == 0 { fi.pointee.noflush = 1 }
                let sent: Int32
                switch opened.way {
                case .ordinary: sent = fuse_reply_open(req, fi)
                case .backing(let id): sent = PassthroughChannel.replyOpen(req, fi, backing: id)
                }
                // The opener is gone (interrupted): no release will come for this handle.
                if sent != 0 { fs.release(handle: opened.handle, inode: UInt64(ino)) }
            }
        }
        ops.read = { req, ino, size, offset, fi in
            answer(req) { fs in
                let handle = fi?.pointee.fh ?? 0
                switch try fs.read(handle: handle, inode: UInt64(ino), offset: Int(offset), size: size) {
                case .bytes(let bytes): Reply.bytes(req, bytes)
                case .file(let fd, let start, let count, let owner):
                    withExtendedLifetime(owner) { _ = vost_reply_fd(req, fd, off_t(start), count) }
                }
            }
        }
        ops.release = { req, ino, fi in
            answer(req) { fs in
                if let fi { fs.release(handle: fi.pointee.fh, inode: UInt64(ino)) }
                fuse_reply_err(req, 0)
            }
        }
        ops.opendir = { req, ino, fi in
            answer(req) { fs in
                guard let fi else { throw Errno.invalid }
                if fs.noOpendir { throw Errno(code: ENOSYS) }
                let (handle, keep) = try fs.opendir(UInt64(ino))
                fi.pointee.fh = handle
                // The kernel may keep the listing in its page cache; it drops it whenever we
                // answer an open without keep_cache, i.e. when the directory changed.
                fi.pointee.cache_readdir = 1
                fi.pointee.keep_cache = keep ? 1 : 0
                fuse_reply_open(req, fi)
            }
        }
        ops.readdir = { req, ino, size, offset, fi in
            answer(req) { fs in try Directory.reply(req, fs: fs, ino: UInt64(ino), size: size, offset: Int(offset), fi: fi, plus: false) }
        }
        ops.readdirplus = { req, ino, size, offset, fi in
            answer(req) { fs in try Directory.reply(req, fs: fs, ino: UInt64(ino), size: size, offset: Int(offset), fi: fi, plus: true) }
        }
        ops.releasedir = { req, _, fi in
            answer(req) { fs in
                if let fi { fs.handles.remove(fi.pointee.fh) }
                fuse_reply_err(req, 0)
            }
        }
        ops.statfs = { req, _ in
            answer(req) { fs in
                var info = fs.statfs()
                fuse_reply_statfs(req, &info)
            }
        }
        // Notes are the only extended attributes (see `Filesystem+Notes`), and only with
        // --notes: once attributes are served, `ls -l` asks for two (security.selinux,
        // system.posix_acl_access) per name, each a round trip (counted with -d), which the
        // kernel never caches. Without --notes, ENOSYS (not ENODATA) tells the kernel once
        // for the whole mount, and it stops asking.
        ops.getxattr = { req, ino, name, size in
            answer(req) { fs in
                guard fs.config.notes else { throw Errno(code: ENOSYS) }
                Reply.xattr(req, try fs.extendedAttribute(UInt64(ino), name: String(cString: name!)), size: size)
            }
        }
        ops.listxattr = { req, ino, size in
            answer(req) { fs in
                guard fs.config.notes else { throw Errno(code: ENOSYS) }
                Reply.xattr(req, try fs.extendedAttributeNames(UInt64(ino)), size: size)
            }
        }
        WriteOperations.install(&ops)
        return ops
    }
}
