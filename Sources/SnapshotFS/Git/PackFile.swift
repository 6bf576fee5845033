import CGit2
import Foundation

/// A pack file open for reading entries (`pread`, so one descriptor serves any offset).
final class PackFile {
    let fd: Int32

    enum Kind {
        /// Stored whole: commit 1, tree 2, blob 3, tag 4.
        case whole(type: Int)
        case offsetDelta(base: Int)
        case refDelta(base: ObjectID)
    }

    struct Entry {
        let kind: Kind
        /// The inflated size (of the delta itself, for a delta).
        let size: Int
        let dataOffset: Int
    }

    init(path: String) throws {
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.posix("cannot open \(path)") }
    }

    deinit { close(fd) }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try Syscalls.readOnce(fd, into: buffer, at: offset, "a pack")
    }

    /// The entry header at `offset`: type and size as a varint, then the delta's base.
    func entry(at offset: Int) throws -> Entry {
        var header = [UInt8](repeating: 0, count: 40)
        let got = try header.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        let corrupt = SnapshotError.git(code: -1, klass: 0, message: "corrupt pack entry at \(offset)")
        var i = 0
        func next() throws -> UInt8 {
            guard i < got else { throw corrupt }
            defer { i += 1 }
            return header[i]
        }
        var byte = try next()
        let type = Int(byte >> 4) & 7
        var size = Int(byte & 0x0F)
        var shift = 4
        // Sizes and distances come from the pack: a crafted one may claim more than 63 bits,
        // which must be a corrupt entry, not an overflow.
        while byte & 0x80 != 0 {
            byte = try next()
            guard shift <= 56 else { throw corrupt }
            size |= Int(byte & 0x7F) << shift
            shift += 7
        }
        switch type {
        case 6:
            byte = try next()
            var distance = Int(byte & 0x7F)
            while byte & 0x80 != 0 {
                byte = try next()
                guard distance < Int.max >> 8 else { throw corrupt }
                distance = ((distance + 1) << 7) | Int(byte & 0x7F)
            }
            guard distance > 0, distance <= offset else { throw corrupt }
            return Entry(kind: .offsetDelta(base: offset - distance), size: size, dataOffset: offset + i)
        case 7:
            guard got >= i + 20, let base = ObjectID(bytes: Array(header[i..<(i + 20)])) else { throw corrupt }
            return Entry(kind: .refDelta(base: base), size: size, dataOffset: offset + i + 20)
        case 1...4:
            return Entry(kind: .whole(type: type), size: size, dataOffset: offset + i)
        default:
            throw corrupt
        }
    }
}
