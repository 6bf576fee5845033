import Foundation

/// An LFS object opened for reading, or why it cannot be. Owns its descriptor.
final class LFSObjectFile: @unchecked Sendable {
    // @unchecked: immutable after init; `pread` needs no lock.
    private let fd: Int32
    let pointer: LFSPointer
    private let problem: String?

    init(store: Store, pointer: LFSPointer) {
        self.pointer = pointer
        let path = store.lfsPath(pointer)
        var fd: Int32 = -1
        var info = stat()
        do {
            // Beneath the repository, no symlink on the way, a regular file, no blocking open:
            // the store's content is whoever made the repository's.
            fd = try Beneath.openRegularFile("\(store.lfsFolder(pointer))/\(pointer.oid)", in: store.path)
            if fstat(fd, &info) != 0 || Int(info.st_size) != pointer.size {
                problem = "LFS object \(pointer.oid) in \(path) has \(info.st_size) bytes, its pointer says \(pointer.size)"
            } else {
                problem = nil
            }
        } catch SnapshotError.io(let code, let message) {
            switch code {
            case ENOENT: problem = "LFS object \(pointer.oid) is not in the local store (\(path))"
            case ELOOP, EXDEV: problem = "LFS object \(pointer.oid) is reached through a symlink in the store (\(path)): refused"
            default: problem = "LFS object \(pointer.oid): \(message): \(String(cString: strerror(code)))"
            }
        } catch {
            problem = "LFS object \(pointer.oid): \(error)"
        }
        self.fd = problem == nil ? fd : -1
        if problem != nil, fd >= 0 { close(fd) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func descriptor() throws -> Int32 {
        if let problem { throw SnapshotError.io(errno: EIO, problem) }
        return fd
    }

    func read(from offset: Int, to end: Int) throws -> [UInt8] {
        if let problem { throw SnapshotError.io(errno: EIO, problem) }
        var data = [UInt8](repeating: 0, count: end - offset)
        try data.withUnsafeMutableBytes { try Syscalls.readAll(fd, into: $0, at: offset, "LFS object \(pointer.oid)") }
        return data
    }
}
