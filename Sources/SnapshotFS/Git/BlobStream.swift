import CGit2
import Foundation

/// Something that yields a blob's content front to back.
protocol BlobStream: AnyObject {
    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}
