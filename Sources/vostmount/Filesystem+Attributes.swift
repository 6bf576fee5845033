import CFuse
import Foundation
import SnapshotFS

/// The changes of a branch node that are not its content or names: `chmod`, `truncate`,
/// times, `fallocate`, and the next commit's message as an extended attribute of the root.
extension Filesystem {
    /// `chmod`, `chown`, `truncate`, `utimens`. Only the executable bit is stored; other mode
    /// bits are accepted (so `mkstemp`'s 0600 works) and shown normalised. Ownership is the
    /// mounting user's: changing it to anyone else is `EPERM`.
    func setAttributes(_ id: UInt64, _ attr: stat, fields: Int32) throws {
        let work = try writableNode(id)
        let workspace = workspace!
        if fields & FUSE_SET_ATTR_UID != 0, attr.st_uid != config.uid, attr.st_uid != uid_t.max { throw Errno.notPermitted }
        if fields & FUSE_SET_ATTR_GID != 0, attr.st_gid != config.gid, attr.st_gid != gid_t.max { throw Errno.notPermitted }
        if fields & FUSE_SET_ATTR_SIZE != 0 {
            if work.isDirectory { throw Errno.isDirectory }
            try backingFiles.checkWritable(id)
            // An open with O_TRUNC that the mount does not see comes as this truncate.
            try countUnopenedWriter(id, work)
            prefill.beginWriting(work)
            defer { prefill.endWriting(work) }
            try workspace.truncate(work, to: Int(attr.st_size))
        }
        if fields & FUSE_SET_ATTR_MODE != 0, !work.isDirectory {
            try workspace.setExecutable(work, attr.st_mode & 0o111 != 0)
        }
        // utimensat: each time exactly as given (or now), atime apart from mtime.
        func time(_ set: Int32, _ now: Int32, _ value: timespec) -> Timestamp? {
            if fields & now != 0 { return .now }
            if fields & set != 0 { return Timestamp(seconds: value.tv_sec, nanoseconds: value.tv_nsec) }
            return nil
        }
        let modified = time(FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW, attr.st_mtim)
        let accessed = time(FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW, attr.st_atim)
        if modified != nil || accessed != nil { workspace.setTimes(work, modified: modified, accessed: accessed) }
    }

    func allocate(handle: UInt64, inode: UInt64, mode: Int32, offset: Int, length: Int) throws {
        guard mode == 0 else { throw Errno(code: EOPNOTSUPP) }
        try workspace!.allocate(try writeTarget(handle: handle, inode: inode), length: offset + length)
    }

    /// Extended attributes: only `user.vost.message` on the mount's root, the message of the
    /// next commit. Everything else is `ENOTSUP`.
    func setMessage(_ id: UInt64, name: String, value: String?) throws {
        guard let work = try node(id).as(BranchNode.self)?.work, isMountRoot(work), name == "user.vost.message" else {
            throw Errno.notSupported
        }
        if config.readOnly { throw Errno.readOnly }
        workspace!.setMessage(value)
    }
}
