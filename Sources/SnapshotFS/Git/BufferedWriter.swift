import CGit2
import Foundation

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
