import CGit2
import Foundation

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
