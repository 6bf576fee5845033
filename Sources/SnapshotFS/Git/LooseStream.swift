import CGit2
import Foundation

/// Inflates a loose object from its file in fixed-size pieces: memory stays at one mapped
/// window of the compressed file whatever the object's size. (libgit2 1.5's loose read
/// stream maps the whole compressed file, which counts in the process's resident memory:
/// 1 GiB for a 1 GiB blob.) Windows are mapped, not read, so the compressed bytes are not
/// copied once more on their way to zlib (measured: a fifth of reading a 1 GiB blob).
final class LooseStream: BlobStream {
    private let fd: Int32
    /// On the heap: zlib's state points back at its z_stream, which must never move.
    private let z: UnsafeMutablePointer<z_stream>
    /// A multiple of the page size, so each window starts where a mapping may.
    private static let window = 4 << 20
    private let fileSize: Int
    /// The window zlib is reading, and where the next one starts in the file.
    private var mapped: (start: UnsafeMutableRawPointer, length: Int)?
    private var nextWindow = 0
    private var carry: [UInt8] = []
    private var finished = false
    private(set) var size = 0

    /// Opens the loose file of `id`; nil when the object is not stored loose.
    init?(id: ObjectID, objectsDirectory: String) throws {
        let hex = id.hex
        fd = open("\(objectsDirectory)/\(hex.prefix(2))/\(hex.dropFirst(2))", O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw SnapshotError.posix("cannot stat a loose object")
        }
        fileSize = Int(info.st_size)
        z = .allocate(capacity: 1)
        z.initialize(to: z_stream())
        guard inflateInit_(z, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            z.deallocate()
            close(fd)
            throw SnapshotError.io(errno: ENOMEM, "cannot start zlib")
        }
        // The header, `blob <size>\0`, comes first; what follows it is kept for the first read.
        var head = [UInt8](repeating: 0, count: 64)
        var got = 0
        var nul: Int?
        while nul == nil {
            let n = try head.withUnsafeMutableBytes { try inflateSome(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            if n == 0 { break }
            got += n
            nul = head[0..<got].firstIndex(of: 0)
        }
        guard let nul, let space = head[0..<nul].firstIndex(of: 0x20),
              let parsed = Int(String(decoding: head[(space + 1)..<nul], as: UTF8.self)), parsed >= 0 else {
            throw SnapshotError.git(code: -1, klass: 0, message: "corrupt loose object \(hex)")
        }
        size = parsed
        carry = Array(head[(nul + 1)..<got])
    }

    deinit {
        inflateEnd(z)
        z.deinitialize(count: 1)
        z.deallocate()
        if let mapped { munmap(mapped.start, mapped.length) }
        close(fd)
    }

    /// Maps the next window of the compressed file in place of the last; nil at its end.
    /// (Loose objects never change once written, and an unlinked one stays mapped.)
    private func mapNextWindow() throws -> (start: UnsafeMutableRawPointer, length: Int)? {
        if let mapped { munmap(mapped.start, mapped.length) }
        mapped = nil
        guard nextWindow < fileSize else { return nil }
        let length = min(Self.window, fileSize - nextWindow)
        guard let start = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(nextWindow)), start != MAP_FAILED else {
            throw SnapshotError.posix("cannot map a loose object")
        }
        madvise(start, length, MADV_SEQUENTIAL)
        nextWindow += length
        mapped = (start, length)
        return (start, length)
    }

    /// Fills up to `buffer.count` bytes of content; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !carry.isEmpty {
            let n = min(carry.count, buffer.count)
            carry.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            carry.removeFirst(n)
            return n
        }
        return try inflateSome(into: buffer)
    }

    private func inflateSome(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished, out.count > 0 else { return 0 }
        z.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_out = uInt(out.count)
        while z.pointee.avail_out > 0 && !finished {
            if z.pointee.avail_in == 0 {
                // zlib has taken the whole window: the next one replaces it.
                guard let window = try mapNextWindow() else { break }
                z.pointee.next_in = window.start.assumingMemoryBound(to: Bytef.self)
                z.pointee.avail_in = uInt(window.length)
            }
            let code = inflate(z, Z_NO_FLUSH)
            if code == Z_STREAM_END { finished = true } else if code != Z_OK && code != Z_BUF_ERROR {
                throw SnapshotError.git(code: -1, klass: 0, message: "corrupt loose object (zlib \(code))")
            }
            if code == Z_BUF_ERROR && z.pointee.avail_in == 0 { continue }
        }
        return out.count - Int(z.pointee.avail_out)
    }
}
