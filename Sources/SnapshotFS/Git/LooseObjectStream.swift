import CGit2
import Foundation

extension LooseObjects {
    /// Writes `size` bytes of `fd` (read with `pread` from `start`) as a loose blob, in one
    /// pass of 1 MiB pieces: hashed, and deflated and written, as they are read, then renamed into
    /// place under the name the hash gives. Memory stays at a few MiB whatever the size.
    ///
    /// The zlib level is chosen from a sample of the data: what does not compress (media,
    /// archives, random bytes) is stored at level 0, valid zlib that git reads, and that runs
    /// at the speed of copying instead of zlib's ~30 MB/s; what compresses gets git's own
    /// default level, so it takes the room `git add` would give it.
    static func writeBlob(fromDescriptor fd: Int32, size: Int, start: Int = 0, objectsDirectory: String,
                          exists: (ObjectID) -> Bool) throws -> ObjectID {
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        func read(at offset: Int, count: Int) throws -> Int {
            try buffer.withUnsafeMutableBytes {
                try Syscalls.readAll(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), at: start + offset, "the file")
            }
            return count
        }
        // (Read first: as an argument beside `buffer`, the copy would be taken before it.)
        let sampled = try read(at: 0, count: min(size, 256 << 10))
        let level = try compressionLevel(sample: buffer, count: sampled)

        let file = try ObjectFile(.path(objectsDirectory), in: "", prefix: "tmp_obj_")
        let out = file.fd
        var stored = false
        defer { if !stored { file.discard() } }

        var z = z_stream()
        guard deflateInit_(&z, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SnapshotError.io(errno: ENOMEM, "cannot start zlib")
        }
        defer { deflateEnd(&z) }
        let output = try DirectOutput(fd: out)
        defer { output.settle() }  // runs before the close above: no write may outlive `out`
        let hash = SHA1()
        func pump(_ input: UnsafeRawBufferPointer, finish: Bool) throws {
            z.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            z.avail_in = uInt(input.count)
            repeat {
                let room = output.room
                z.next_out = room.baseAddress!.assumingMemoryBound(to: Bytef.self)
                z.avail_out = uInt(room.count)
                let code = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH)
                guard code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR else {
                    throw SnapshotError.io(errno: EIO, "zlib deflate failed")
                }
                try output.filled(room.count - Int(z.avail_out))
            } while z.avail_out == 0 || (finish && z.avail_in > 0)
        }
        let header = Array("blob \(size)\0".utf8)
        hash.update(header)
        try header.withUnsafeBytes { try pump($0, finish: false) }
        // Hashing and deflating a piece are independent and take about as long as each other
        // (SHA-1 ~1.5 GB/s; level 0 is adler32 and a copy): on two threads they overlap.
        var offset = 0
        while offset < size {
            let n = try read(at: offset, count: min(chunk, size - offset))
            try buffer.withUnsafeBytes { piece in
                let slice = UnsafeRawBufferPointer(rebasing: piece[0..<n])
                try Overlap.run({ hash.update(slice) }, alongside: { try pump(slice, finish: false) })
            }
            offset += n
        }
        try pump(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
        try output.finish()
        let id = ObjectID(bytes: hash.finish())!
        if exists(id) { return id }  // the defer removes the temp file

        stored = true  // `store` closes it, and removes it if it fails
        let hex = id.hex
        try file.store(as: String(hex.dropFirst(2)), in: String(hex.prefix(2)), mode: 0o444, what: "object \(hex)", durable: true)
        return id
    }

    /// Level 0 when a deflate of the sample at level 1 saves less than 5%; git's default
    /// level otherwise.
    static func compressionLevel(sample: [UInt8], count: Int) throws -> Int32 {
        guard count > 0 else { return Z_DEFAULT_COMPRESSION }
        var z = z_stream()
        guard deflateInit_(&z, Z_BEST_SPEED, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SnapshotError.io(errno: ENOMEM, "cannot start zlib")
        }
        defer { deflateEnd(&z) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&z, uLong(count))))
        let produced = sample.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output -> Int in
                z.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
                z.avail_in = uInt(count)
                z.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                z.avail_out = uInt(output.count)
                _ = deflate(&z, Z_FINISH)
                return output.count - Int(z.avail_out)
            }
        }
        return produced * 100 >= count * 95 ? 0 : Z_DEFAULT_COMPRESSION
    }

}
