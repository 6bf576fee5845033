import Crypto
import Foundation

/// A Git LFS pointer (spec v1): the small blob a commit holds in place of a large file whose
/// content sits in the LFS store, named by its SHA-256.
///
///     version https://git-lfs.github.com/spec/v1
///     oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
///     size 12345
public struct LFSPointer: Sendable, Equatable {
    /// 64 lowercase hex digits.
    public let oid: String
    public let size: Int

    /// Pointers are at most this long (the spec's limit for a blob to be read as one), and
    /// at least as long as the version, oid and size lines make the shortest.
    public static let maxLength = 1024
    static let minLength = version.utf8.count + "\noid sha256:".utf8.count + 64 + "\nsize 0\n".utf8.count
    static let version = "version https://git-lfs.github.com/spec/v1"

    /// The most a pointer may claim (8 PiB). A pointer is input from whoever made the
    /// commit: one claiming more (git-lfs itself allows up to 2^63 - 1) is not read as a
    /// pointer, so no size arithmetic on it can overflow.
    public static let maxSize = 1 << 53

    public init?(oid: String, size: Int) {
        guard oid.utf8.count == 64, oid.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              size >= 0, size <= Self.maxSize else { return nil }
        self.oid = oid
        self.size = size
    }

    /// Parses pointer text as git-lfs does: the version line first, then `key value` lines
    /// sorted by key, each ending in a newline; `oid` and `size` required, other keys
    /// (extensions) allowed. Anything else is not a pointer.
    public init?(parsing data: [UInt8]) {
        guard data.count <= Self.maxLength, data.last == 0x0A,
              let text = String(validating: data, as: UTF8.self) else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first.map(String.init) == Self.version else { return nil }
        var oid: String?
        var size: Int?
        var previousKey = ""
        for line in lines.dropFirst() {
            guard let space = line.firstIndex(of: " ") else { return nil }
            let key = String(line[..<space])
            let value = line[line.index(after: space)...]
            guard key > previousKey, !key.isEmpty else { return nil }
            previousKey = key
            switch key {
            case "oid":
                guard value.hasPrefix("sha256:") else { return nil }
                oid = String(value.dropFirst(7))
            case "size":
                guard !value.isEmpty, value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber), let n = Int(value) else { return nil }
                size = n
            default:
                continue
            }
        }
        guard let oid, let size, let pointer = LFSPointer(oid: oid, size: size) else { return nil }
        self = pointer
    }

    /// The pointer as `git lfs` writes it.
    public var text: [UInt8] { Array("\(Self.version)\noid sha256:\(oid)\nsize \(size)\n".utf8) }
}
