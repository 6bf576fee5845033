import CFuse
import Foundation
import SnapshotFS

/// Filling `readdir`/`readdirplus` buffers from a directory handle's listing.
enum Directory {
    /// Entries from `offset` on, as many as fit in `size` bytes. With `plus`, each entry
    /// carries its attributes and counts as a lookup (except `.` and `..`), so `ls -l` and
    /// `find` need no further round trip per name.
    static func reply(_ req: fuse_req_t?, fs: Filesystem, ino: UInt64, size: Int, offset: Int,
                      fi: UnsafeMutablePointer<fuse_file_info>?, plus: Bool) throws {
        let (dirNode, entries) = try fs.listing(inode: ino, handle: fi?.pointee.fh ?? 0)
        var buffer = [CChar](repeating: 0, count: size)
        var used = 0
        var index = offset
        while index < entries.count {
            let (name, node) = entries[index]
            let isDotName = index < 2
            var attr: stat
            // With `plus`, an entry whose attributes cannot be read (its object is missing
            // or corrupt) is still listed, bare: the kernel takes a zero node id as "no
            // attributes here" and looks it up when used, which answers EIO. One bad entry
            // costs that entry, never its directory.
            var full = plus && !isDotName
            if isDotName {
                attr = stat()
                attr.st_ino = ino_t(ino)
                attr.st_mode = S_IFDIR
            } else if plus, let read = try? fs.attributes(node, id: 0) {
                // A history entry carries its tree entry: no walk from the root per name.
                attr = read
            } else {
                full = false
                attr = stat()
                attr.st_mode = node.kind.fileType(in: fs)
                attr.st_ino = ino_t(fs.inodes.listed(node))
            }
            var entry = fuse_entry_param()
            if full {
                // The number goes into the buffer now; the lookup is counted below, only once
                // the entry is known to fit (the kernel receives exactly what fits).
                let id = fs.inodes.number(node)
                attr.st_ino = ino_t(id)
                entry.ino = fuse_ino_t(id)
                entry.attr_timeout = fs.attrTimeout(node)
                entry.entry_timeout = fs.entryTimeout(parent: dirNode, child: node)
            }
            entry.attr = attr
            func add() -> Int {
                (name + [0]).withUnsafeBytes { rawName -> Int in
                    let cName = rawName.baseAddress!.assumingMemoryBound(to: CChar.self)
                    return buffer.withUnsafeMutableBufferPointer { out -> Int in
                        let rest = out.baseAddress! + used
                        if plus { return fuse_add_direntry_plus(req, rest, size - used, cName, &entry, off_t(index + 1)) }
                        return fuse_add_direntry(req, rest, size - used, cName, &attr, off_t(index + 1))
                    }
                }
            }
            let written = add()
            if written > size - used { break }
            if full {
                // A history node forgotten meanwhile comes back under a new number: say that one.
                let id = fs.inodes.lookedUp(node)
                if id != entry.ino {
                    entry.ino = fuse_ino_t(id)
                    entry.attr.st_ino = ino_t(id)
                    _ = add()
                }
            }
            used += written
            index += 1
        }
        buffer.withUnsafeBufferPointer { _ = fuse_reply_buf(req, $0.baseAddress, used) }
    }
}
