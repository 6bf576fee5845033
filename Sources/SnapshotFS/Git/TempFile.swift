import CGit2
import Foundation

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
        try Syscalls.readOnce(fd, into: buffer, at: offset, "a temp file")
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
