import Foundation

/// A whole file mapped read-only, owning its mapping: for files git writes once and replaces
/// by renaming (the commit-graph), so a mapping stays valid even after git replaces the file.
/// Mapped, not read, so its pages are the page cache's and not the daemon's memory.
///
/// Every accessor is bounds-checked and answers nil past the end: the bytes come from the
/// repository, and a short or crafted file must cost a fallback, never a crash.
final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes until deinit.
    private let start: UnsafeRawPointer
    let count: Int

    /// Maps `path`; nil if it cannot be opened, is empty or larger than `limit`.
    init?(path: String, limit: Int = 1 << 30) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0, info.st_size <= limit else { return nil }
        count = Int(info.st_size)
        guard let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else { return nil }
        start = UnsafeRawPointer(mapped)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: start), count) }

    /// `length` bytes at `offset`, or nil if they are not all inside the file.
    func bytes(at offset: Int, count length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return UnsafeRawBufferPointer(start: start + offset, count: length)
    }

    /// A big-endian (network order) 32-bit number, as git's binary formats store them.
    func u32(at offset: Int) -> UInt32? {
        guard let b = bytes(at: offset, count: 4) else { return nil }
        return UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
    }

    func u64(at offset: Int) -> UInt64? {
        guard let high = u32(at: offset), let low = u32(at: offset + 4) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    func objectID(at offset: Int) -> ObjectID? {
        bytes(at: offset, count: 20).flatMap { ObjectID(bytes: $0) }
    }
}
