import CGit2
import Foundation

/// A packed blob, read with bounded memory: an entry stored whole is inflated as a stream
/// straight from the pack; a deltified one is rebuilt on disk (its base chain applied one
/// delta at a time between two unlinked temp files in `scratch`) and then read from there.
/// Memory stays at a few buffers whatever the blob's size (libgit2 1.5 would inflate it
/// whole, with its delta bases, into memory: 914 MiB of RSS for a 300 MiB blob).
enum PackStream {
    /// A stream of the blob `id` if a pack holds it; nil when no pack does (the caller then
    /// tries elsewhere). Throws on a damaged pack.
    static func open(_ id: ObjectID, store: Store) throws -> (any BlobStream)? {
        guard let (pack, offset) = store.packs.locate(id) else { return nil }
        let file = try PackFile(path: pack)
        let entry = try file.entry(at: offset)
        switch entry.kind {
        case .whole(let type):
            guard type == 3 else { throw SnapshotError.isADirectory("\(id) is not a blob") }
            return try Inflater(file: file, at: entry.dataOffset, size: entry.size)
        case .offsetDelta, .refDelta:
            let rebuilt = try rebuild(entry, in: file, store: store)
            return try TempFileStream(rebuilt)
        }
    }

    /// Applies the delta chain under `entry` onto its base, on disk.
    private static func rebuild(_ entry: PackFile.Entry, in file: PackFile, store: Store) throws -> TempFile {
        var chain: [PackFile.Entry] = []
        var current = entry
        var base: TempFile
        while true {
            switch current.kind {
            case .whole:
                base = try TempFile(directory: store.scratchDirectory)
                try base.fill(from: Inflater(file: file, at: current.dataOffset, size: current.size))
            case .offsetDelta(let baseOffset):
                chain.append(current)
                current = try file.entry(at: baseOffset)
                continue
            case .refDelta(let baseID):
                chain.append(current)
                base = try TempFile(directory: store.scratchDirectory)
                guard let stream = try LooseStream(id: baseID, objectsDirectory: store.objectsDirectory)
                        ?? PackStream.open(baseID, store: store) else {
                    throw SnapshotError.git(code: -1, klass: 0, message: "delta base \(baseID) is missing")
                }
                try base.fill(from: stream)
            }
            break
        }
        for delta in chain.reversed() {
            let result = try TempFile(directory: store.scratchDirectory)
            try applyDelta(Inflater(file: file, at: delta.dataOffset, size: delta.size), base: base, into: result)
            base = result
        }
        return base
    }

    /// Git's delta format: the base's size and the result's as varints, then instructions:
    /// copy a range of the base (high bit set) or insert the next 1-127 bytes.
    private static func applyDelta(_ delta: Inflater, base: TempFile, into out: TempFile) throws {
        let input = BufferedReader(delta)
        func varint() throws -> Int {
            var value = 0
            var shift = 0
            while true {
                let byte = try input.byte()
                value |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { return value }
            }
        }
        let corrupt = SnapshotError.git(code: -1, klass: 0, message: "corrupt delta in a pack")
        guard try varint() == base.size else { throw corrupt }
        let expected = try varint()
        let writer = BufferedWriter(out)
        while let command = try input.byteIfAny() {
            if command & 0x80 != 0 {
                var offset = 0
                var length = 0
                for bit in 0..<4 where command & (1 << bit) != 0 { offset |= Int(try input.byte()) << (8 * bit) }
                for bit in 0..<3 where command & (0x10 << bit) != 0 { length |= Int(try input.byte()) << (8 * bit) }
                if length == 0 { length = 0x10000 }
                guard offset + length <= base.size else { throw corrupt }
                try writer.copy(from: base, at: offset, count: length)
            } else if command != 0 {
                try writer.append(try input.bytes(Int(command)))
            } else {
                throw corrupt
            }
        }
        try writer.flush()
        guard out.size == expected else { throw corrupt }
    }
}

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
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            guard errno == EINTR else { throw SnapshotError.posix("cannot read a pack") }
        }
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

/// Inflates one pack entry's zlib stream, reading the pack 256 KiB at a time.
final class Inflater: BlobStream {
    private let file: PackFile
    private var position: Int
    let size: Int
    /// On the heap: zlib's state points back at its z_stream, which must never move.
    private let z: UnsafeMutablePointer<z_stream>
    /// On the heap too, for zlib's `next_in` to point into between calls.
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    private var finished = false

    init(file: PackFile, at offset: Int, size: Int) throws {
        self.file = file
        position = offset
        self.size = size
        z = .allocate(capacity: 1)
        z.initialize(to: z_stream())
        guard inflateInit_(z, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            z.deallocate()
            throw SnapshotError.io(errno: ENOMEM, "cannot start zlib")
        }
    }

    deinit {
        inflateEnd(z)
        z.deinitialize(count: 1)
        z.deallocate()
        input.deallocate()
    }

    func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, out.count > 0 else { return 0 }
        z.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_out = uInt(out.count)
        while z.pointee.avail_out > 0 && !finished {
            if z.pointee.avail_in == 0 {
                let n = try file.read(at: position, into: input)
                guard n > 0 else { throw SnapshotError.git(code: -1, klass: 0, message: "truncated pack") }
                position += n
                z.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                z.pointee.avail_in = uInt(n)
            }
            let code = inflate(z, Z_NO_FLUSH)
            if code == Z_STREAM_END { finished = true } else if code != Z_OK {
                throw SnapshotError.git(code: -1, klass: 0, message: "corrupt pack entry (zlib \(code))")
            }
        }
        return out.count - Int(z.pointee.avail_out)
    }
}

/// An unlinked temp file (0600) that a delta chain is rebuilt into; gone when closed.
final class TempFile {
    let fd: Int32
    private(set) var size = 0

    init(directory: String) throws {
        fd = try Syscalls.makeAnonymousFile(inPath: directory, prefix: "vost-delta-")
    }

    deinit { close(fd) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try Syscalls.writeAll(fd, bytes, at: size, "a temp file")
        size += bytes.count
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            guard errno == EINTR else { throw SnapshotError.posix("cannot read a temp file") }
        }
    }

    func fill(from stream: any BlobStream) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}

/// Reads a rebuilt blob front to back.
final class TempFileStream: BlobStream {
    private let file: TempFile
    private var position = 0

    init(_ file: TempFile) throws { self.file = file }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try file.read(at: position, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, file.size - position)]))
        position += n
        return n
    }
}

/// Byte-at-a-time reading of a stream, 64 KiB buffered.
final class BufferedReader {
    private let stream: any BlobStream
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    private var start = 0
    private var end = 0

    init(_ stream: any BlobStream) { self.stream = stream }

    private func refill() throws -> Bool {
        start = 0
        end = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
        return end > 0
    }

    func byteIfAny() throws -> UInt8? {
        if start == end, try !refill() { return nil }
        defer { start += 1 }
        return buffer[start]
    }

    func byte() throws -> UInt8 {
        guard let byte = try byteIfAny() else { throw SnapshotError.git(code: -1, klass: 0, message: "truncated delta") }
        return byte
    }

    func bytes(_ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count { out.append(try byte()) }
        return out
    }
}

/// Collects a rebuilt blob's pieces and writes them 1 MiB at a time.
final class BufferedWriter {
    private let file: TempFile
    private var buffer: [UInt8] = []
    private static let limit = 1 << 20

    init(_ file: TempFile) {
        self.file = file
        buffer.reserveCapacity(Self.limit)
    }

    func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= Self.limit { try flush() }
    }

    /// A range of the base, read straight into the buffer in 1 MiB pieces.
    func copy(from base: TempFile, at offset: Int, count: Int) throws {
        var done = 0
        while done < count {
            if buffer.count >= Self.limit { try flush() }
            let piece = min(count - done, Self.limit - buffer.count)
            let start = buffer.count
            buffer += repeatElement(0, count: piece)
            let n = try buffer.withUnsafeMutableBytes { try base.read(at: offset + done, into: UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + piece)])) }
            guard n == piece else { throw SnapshotError.git(code: -1, klass: 0, message: "delta base too short") }
            done += piece
        }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { try file.append($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
