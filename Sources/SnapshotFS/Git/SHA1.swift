import CGit2

/// SHA-1 over raw bytes (mbedtls, which libgit2-dev brings), for pack and index checksums
/// and for naming objects before they are written. One owner of the mbedtls context.
final class SHA1 {
    private var context = mbedtls_sha1_context()

    init() {
        mbedtls_sha1_init(&context)
        mbedtls_sha1_starts_ret(&context)
    }

    deinit { mbedtls_sha1_free(&context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        mbedtls_sha1_update_ret(&context, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        digest.withUnsafeMutableBufferPointer { _ = mbedtls_sha1_finish_ret(&context, $0.baseAddress!) }
        return digest
    }

    /// The name Git gives an object: SHA-1 of `<type> <size>\0` and the content.
    static func objectID(type: ObjectType, _ data: [UInt8]) -> ObjectID {
        let hash = SHA1()
        hash.update(Array("\(type.name) \(data.count)\0".utf8))
        hash.update(data)
        return ObjectID(bytes: hash.finish())!
    }
}

/// The object kinds a pack can hold, with their pack type numbers.
enum ObjectType: UInt8 {
    case commit = 1, tree = 2, blob = 3, tag = 4

    var name: String {
        switch self {
        case .commit: return "commit"
        case .tree: return "tree"
        case .blob: return "blob"
        case .tag: return "tag"
        }
    }
}

extension ObjectType {
    var git: git_object_t {
        switch self {
        case .commit: return GIT_OBJECT_COMMIT
        case .tree: return GIT_OBJECT_TREE
        case .blob: return GIT_OBJECT_BLOB
        case .tag: return GIT_OBJECT_TAG
        }
    }
}
