import CGit2
import Crypto

/// SHA-1 over raw bytes, for pack and index checksums and for naming objects before they are
/// written: swift-crypto's `Insecure.SHA1`, depended on by name (STYLE 15) rather than through
/// libgit2's mbedtls; it is also faster (measured: mbedtls was 30% of writing a 1 GiB blob).
final class SHA1 {
    private var hash = Insecure.SHA1()

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        hash.update(bufferPointer: bytes)
    }

    func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    func finish() -> [UInt8] { Array(hash.finalize()) }

    /// The name Git gives an object: SHA-1 of `<type> <size>\0` and the content.
    static func objectID(type: ObjectType, _ data: [UInt8]) -> ObjectID {
        let hash = SHA1()
        hash.update(Array("\(type.name) \(data.count)\0".utf8))
        hash.update(data)
        return ObjectID(bytes: hash.finish())!
    }
}
