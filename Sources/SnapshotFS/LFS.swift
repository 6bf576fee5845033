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

    /// Pointers are at most this long (the spec's limit for a blob to be read as one).
    public static let maxLength = 1024
    static let version = "version https://git-lfs.github.com/spec/v1"

    public init?(oid: String, size: Int) {
        guard oid.utf8.count == 64, oid.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              size >= 0 else { return nil }
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

extension Store {
    /// The repository's LFS store: `lfs/objects` in the Git directory (a bare repository's
    /// own folder, or `.git` of a work tree), as `git lfs` lays it out.
    public var lfsObjectsDirectory: String { path + "/lfs/objects" }

    /// Where the object of `pointer` is, or would be, in the local LFS store.
    public func lfsPath(_ pointer: LFSPointer) -> String {
        let oid = pointer.oid
        return "\(lfsObjectsDirectory)/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
    }

    /// The LFS pointer a blob holds, if it is one. Small blobs only are read; the answer is
    /// kept per blob (blobs never change).
    public func lfsPointer(_ id: ObjectID) throws -> LFSPointer? {
        if let known = lfsPointers.get(id) { return known.pointer }
        var pointer: LFSPointer?
        if try blobSize(id) <= LFSPointer.maxLength { pointer = LFSPointer(parsing: try blob(id)) }
        lfsPointers.put(id, KnownPointer(pointer: pointer))
        return pointer
    }

    /// The size a reader of the blob's content sees: an LFS object's size for a pointer,
    /// else the blob's own.
    public func contentSize(_ id: ObjectID) throws -> Int {
        try lfsPointer(id)?.size ?? blobSize(id)
    }
}

/// A cache entry: "not a pointer" is an answer worth keeping too.
struct KnownPointer: Sendable {
    let pointer: LFSPointer?
}
