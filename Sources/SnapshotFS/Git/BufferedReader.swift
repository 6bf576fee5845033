import CGit2
import Foundation

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
