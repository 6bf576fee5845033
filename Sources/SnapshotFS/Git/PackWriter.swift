import CGit2
import Foundation

/// Collects new objects and writes them as one packfile with its version-2 index.
///
/// A batch of 10,000 small files as loose objects is 10,000 file creations, and on ext4
/// that inode work is most of the time (measured: ~1 s of 1.2 s). One pack is two files.
/// Objects are deflated as they are added; only the deflated bytes are kept, and the caller
/// flushes when `pendingBytes` grows, so memory stays bounded. Objects become readable by
/// libgit2 once `flush` has renamed the index into place (the pack first, then the index, as
/// git does, so a reader never sees an index without its pack).
final class PackWriter {
    private struct Record {
        let id: ObjectID
        let offset: Int
        let crc: UInt32
    }
    private var body: [UInt8] = []
    private var records: [Record] = []
    private var seen: Set<ObjectID> = []

    var count: Int { records.count }
    var pendingBytes: Int { body.count }

    /// Adds an object (once per name) and returns its name.
    @discardableResult
    func add(_ type: ObjectType, _ data: [UInt8]) -> ObjectID {
        let id = SHA1.objectID(type: type, data)
        guard seen.insert(id).inserted else { return id }
        let start = body.count
        // Header: type in bits 4-6 of the first byte, size in 4 + 7n bits, little-endian groups.
        var size = data.count
        var byte = UInt8(type.rawValue << 4) | UInt8(size & 0x0F)
        size >>= 4
        while size > 0 {
            body.append(byte | 0x80)
            byte = UInt8(size & 0x7F)
            size >>= 7
        }
        body.append(byte)
        deflate(data)
        let crc = body[start...].withUnsafeBytes { raw in
            UInt32(crc32(0, raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
        }
        records.append(Record(id: id, offset: start + 12, crc: crc))
        return id
    }

    private func deflate(_ data: [UInt8]) {
        var capacity = compressBound(uLong(data.count))
        let start = body.count
        body.append(contentsOf: repeatElement(0, count: Int(capacity)))
        let code = body.withUnsafeMutableBufferPointer { out in
            data.withUnsafeBufferPointer { input in
                compress2(out.baseAddress! + start, &capacity, input.baseAddress, uLong(data.count), Z_BEST_SPEED)
            }
        }
        precondition(code == Z_OK, "zlib compress2 failed with a buffer of compressBound size")
        body.removeLast(body.count - start - Int(capacity))
    }

    /// Writes `pack-<sum>.pack` and `.idx` into `<objects>/pack` and forgets the objects.
    /// Nothing is written when no object was added.
    func flush(objectsDirectory: String) throws {
        guard !records.isEmpty else { return }
        var header: [UInt8] = Array("PACK".utf8)
        header += bigEndian(UInt32(2)) + bigEndian(UInt32(records.count))
        let packSum = SHA1()
        packSum.update(header)
        packSum.update(body)
        let checksum = packSum.finish()
        let name = checksum.map { String(format: "%02x", $0) }.joined()
        let dir = objectsDirectory + "/pack"
        try LocalFiles.makeDirectories(Array(dir.utf8))
        let packPath = "\(dir)/pack-\(name).pack"
        let indexPath = "\(dir)/pack-\(name).idx"
        try writeAtomically(packPath, in: dir, [header, body, checksum])
        try writeAtomically(indexPath, in: dir, [index(packChecksum: checksum)])
        body = []
        records = []
        seen = []
    }

    /// The version-2 index: fan-out, sorted names, CRCs, 31-bit offsets, checksums.
    private func index(packChecksum: [UInt8]) -> [UInt8] {
        let sorted = records.sorted { $0.id < $1.id }
        var out: [UInt8] = [0xFF, 0x74, 0x4F, 0x63] + bigEndian(UInt32(2))
        var fanout = [UInt32](repeating: 0, count: 256)
        for record in sorted { fanout[Int(record.id.firstByte)] += 1 }
        var running: UInt32 = 0
        for i in 0..<256 { running += fanout[i]; out += bigEndian(running) }
        for record in sorted { record.id.withBytes { out.append(contentsOf: $0) } }
        for record in sorted { out += bigEndian(record.crc) }
        for record in sorted {
            precondition(record.offset < 0x8000_0000, "pack offsets stay below 2 GiB: flushes are bounded")
            out += bigEndian(UInt32(record.offset))
        }
        out += packChecksum
        let sum = SHA1()
        sum.update(out)
        out += sum.finish()
        return out
    }

    private func writeAtomically(_ path: String, in dir: String, _ parts: [[UInt8]]) throws {
        let (fd, temp) = try Syscalls.makeTempFile(prefix: "\(dir)/tmp_vost_")
        var ok = false
        defer { if !ok { unlink(temp) } }
        for part in parts {
            do { try Syscalls.writeAll(fd, part, path) } catch {
                close(fd)
                throw error
            }
        }
        fchmod(fd, 0o444)
        close(fd)
        guard rename(temp, path) == 0 else { throw SnapshotError.posix("cannot rename into \(path)") }
        ok = true
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
