import CGit2
import Foundation

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
