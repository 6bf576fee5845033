import CFuse
import Foundation
import SnapshotFS

/// The callbacks that change something. Like the others, each copies its arguments into
/// Swift values, calls one `Filesystem` method and replies once; errors become errnos in
/// `answer`.
enum WriteOperations {
    static func install(_ ops: inout fuse_lowlevel_ops) {
        ops.create = { req, parent, name, mode, fi in
            answer(req) { fs in
                guard let fi else { throw Errno.invalid }
                let (node, handle) = try fs.create(parent: UInt64(parent), name: nameBytes(name), mode: mode, flags: fi.pointee.flags)
                fi.pointee.fh = handle
                fi.pointee.keep_cache = 1
                // Whatever stops the reply ends the open here: no release would come for it.
                var entry: fuse_entry_param
                do { entry = try WriteOperations.entryParam(fs, parent: UInt64(parent), node: node) } catch {
                    fs.release(handle: handle, inode: fs.inodes.number(node))
                    throw error
                }
                if fuse_reply_create(req, &entry, fi) != 0 { fs.release(handle: handle, inode: UInt64(entry.ino)) }
            }
        }
        ops.mknod = { req, parent, name, mode, _ in
            answer(req) { fs in
                let node = try fs.mknod(parent: UInt64(parent), name: nameBytes(name), mode: mode)
                try WriteOperations.replyEntry(req, fs, parent: UInt64(parent), node: node)
            }
        }
        ops.mkdir = { req, parent, name, _ in
            answer(req) { fs in
                let node = try fs.mkdir(parent: UInt64(parent), name: nameBytes(name))
                try WriteOperations.replyEntry(req, fs, parent: UInt64(parent), node: node)
            }
        }
        ops.symlink = { req, target, parent, name in
            answer(req) { fs in
                let node = try fs.symlink(parent: UInt64(parent), name: nameBytes(name), target: nameBytes(target))
                try WriteOperations.replyEntry(req, fs, parent: UInt64(parent), node: node)
            }
        }
        ops.unlink = { req, parent, name in
            answer(req) { fs in
                try fs.remove(parent: UInt64(parent), name: nameBytes(name), directory: false)
                fuse_reply_err(req, 0)
            }
        }
        ops.rmdir = { req, parent, name in
            answer(req) { fs in
                try fs.remove(parent: UInt64(parent), name: nameBytes(name), directory: true)
                fuse_reply_err(req, 0)
            }
        }
        ops.rename = { req, parent, name, newParent, newName, flags in
            answer(req) { fs in
                try fs.rename(parent: UInt64(parent), name: nameBytes(name), newParent: UInt64(newParent),
                              newName: nameBytes(newName), flags: UInt32(flags))
                fuse_reply_err(req, 0)
            }
        }
        ops.link = { req, ino, newParent, _ in
            answer(req) { fs in try fs.link(UInt64(ino), newParent: UInt64(newParent)) }
        }
        ops.setattr = { req, ino, attr, toSet, _ in
            answer(req) { fs in
                guard let attr else { throw Errno.invalid }
                try fs.setAttributes(UInt64(ino), attr.pointee, fields: toSet)
                let node = try fs.node(UInt64(ino))
                Reply.attr(req, try fs.attributes(node, id: UInt64(ino)), timeout: fs.attrTimeout(node))
            }
        }
        ops.write = { req, ino, buffer, size, offset, fi in
            answer(req) { fs in
                guard let buffer else { throw Errno.badHandle }
                try fs.write(handle: fi?.pointee.fh ?? 0, inode: UInt64(ino), bytes: UnsafeRawBufferPointer(start: buffer, count: size),
                             offset: Int(offset))
                fuse_reply_write(req, size)
            }
        }
        // Nothing happens at close that release does not do (writes reach us as they are
        // made), so ENOSYS tells the kernel once never to send a flush: one round trip less
        // on every close, which is what a read-only mount's reads cost most.
        ops.flush = { req, _, _ in fuse_reply_err(req, ENOSYS) }
        ops.fsync = { req, _, _, _ in
            answer(req) { fs in
                try fs.sync()
                fuse_reply_err(req, 0)
            }
        }
        ops.fsyncdir = { req, _, _, _ in
            answer(req) { fs in
                try fs.sync()
                fuse_reply_err(req, 0)
            }
        }
        ops.fallocate = { req, ino, mode, offset, length, fi in
            answer(req) { fs in
                try fs.allocate(handle: fi?.pointee.fh ?? 0, inode: UInt64(ino), mode: mode, offset: Int(offset), length: Int(length))
                fuse_reply_err(req, 0)
            }
        }
        ops.setxattr = { req, ino, name, value, size, _ in
            answer(req) { fs in
                let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
                let attribute = String(cString: name!)
                if try !fs.setNote(UInt64(ino), name: attribute, value: text) {
                    try fs.setMessage(UInt64(ino), name: attribute, value: text)
                }
                fuse_reply_err(req, 0)
            }
        }
        ops.removexattr = { req, ino, name in
            answer(req) { fs in
                let attribute = String(cString: name!)
                if try !fs.setNote(UInt64(ino), name: attribute, value: nil) {
                    try fs.setMessage(UInt64(ino), name: attribute, value: nil)
                }
                fuse_reply_err(req, 0)
            }
        }
    }

    /// The entry reply for a node just made, counting the kernel's new reference.
    static func entryParam(_ fs: Filesystem, parent: UInt64, node: Node) throws -> fuse_entry_param {
        let parentNode = try fs.node(parent)
        var attr = try fs.attributes(node, id: 0)
        let id = fs.inodes.lookedUp(node)
        attr.st_ino = ino_t(id)
        var entry = fuse_entry_param()
        entry.ino = fuse_ino_t(id)
        entry.attr = attr
        entry.attr_timeout = fs.attrTimeout(node)
        entry.entry_timeout = fs.entryTimeout(parent: parentNode, child: node)
        return entry
    }

    static func replyEntry(_ req: fuse_req_t?, _ fs: Filesystem, parent: UInt64, node: Node) throws {
        var entry = try entryParam(fs, parent: parent, node: node)
        fuse_reply_entry(req, &entry)
    }
}
