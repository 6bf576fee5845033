import Foundation

/// The few POSIX calls copy and sync need, on byte paths: a local name need not be UTF-8
/// any more than a name in the repository.
enum LocalFiles {
    enum Kind { case file(executable: Bool), symlink, directory, other }

    static func withCPath<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try (path + [0]).withUnsafeBufferPointer { try $0.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) } }
    }

    static func kind(_ path: [UInt8]) -> Kind? {
        var info = stat()
        guard withCPath(path, { lstat($0, &info) }) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(executable: info.st_mode & 0o111 != 0)
        case S_IFLNK: return .symlink
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The names in a directory (not `.` or `..`), sorted.
    static func list(_ path: [UInt8]) throws -> [[UInt8]] {
        guard let dir = withCPath(path, { opendir($0) }) else { throw SnapshotError.posix("cannot open \(show(path))") }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func readLink(_ path: [UInt8]) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = withCPath(path) { p in buffer.withUnsafeMutableBufferPointer { readlink(p, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) } }
        guard n >= 0 else { throw SnapshotError.posix("cannot read link \(show(path))") }
        return Array(buffer[0..<n])
    }

    static func makeDirectories(_ path: [UInt8]) throws {
        var prefix: [UInt8] = []
        for (i, part) in path.split(separator: 0x2F, omittingEmptySubsequences: false).enumerated() {
            if i > 0 { prefix.append(0x2F) }
            prefix.append(contentsOf: part)
            if part.isEmpty { continue }
            if withCPath(prefix, { mkdir($0, 0o755) }) != 0 && errno != EEXIST {
                throw SnapshotError.posix("cannot create \(show(prefix))")
            }
        }
    }

    /// Writes `bytes` to a new or replaced file, then sets its execute bits.
    static func writeFile(_ path: [UInt8], _ bytes: [UInt8], executable: Bool) throws {
        try writeFile(path, executable: executable) { write in try write(bytes) }
    }

    /// Creates the file and hands `fill` a function that appends bytes to it, so content
    /// can arrive in pieces (a large blob, streamed).
    static func writeFile(_ path: [UInt8], executable: Bool, _ fill: ((([UInt8]) throws -> Void)) throws -> Void) throws {
        _ = withCPath(path) { unlink($0) }
        let fd = withCPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, executable ? 0o755 : 0o644) }
        guard fd >= 0 else { throw SnapshotError.posix("cannot create \(show(path))") }
        var closed = false
        defer { if !closed { close(fd) } }
        try fill { bytes in try Syscalls.writeAll(fd, bytes, show(path)) }
        closed = true
        guard close(fd) == 0 else { throw SnapshotError.posix("cannot write \(show(path))") }
    }

    static func symlink(_ path: [UInt8], target: [UInt8]) throws {
        _ = withCPath(path) { unlink($0) }
        let code = withCPath(target) { t in withCPath(path) { Foundation.symlink(t, $0) } }
        guard code == 0 else { throw SnapshotError.posix("cannot create link \(show(path))") }
    }

    /// Removes a file, link or whole directory tree.
    static func remove(_ path: [UInt8]) throws {
        if case .directory? = kind(path) {
            for name in try list(path) { try remove(path + [0x2F] + name) }
            guard withCPath(path, { rmdir($0) }) == 0 else { throw SnapshotError.posix("cannot remove \(show(path))") }
        } else if withCPath(path, { unlink($0) }) != 0 && errno != ENOENT {
            throw SnapshotError.posix("cannot remove \(show(path))")
        }
    }

    static func show(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }
}
