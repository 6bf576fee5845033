import Foundation

/// Which fan-out directories of `objects/` (`00` to `ff`) exist, so that reading a packed
/// object does not first try to open a loose file that cannot be there. A repository after
/// `git gc` has almost none: measured, resolving `@{date}` 1,000 commits back in a packed
/// repository made 1,074 failed `open`s out of 1,123.
///
/// Read once, and again at most once a second when asked about a directory not seen (another
/// process may have made it). A wrong "absent" costs speed, never correctness: libgit2, which
/// the caller falls back to, reads loose objects too. Thread-safe.
final class FanOutDirectories: @unchecked Sendable {
    // @unchecked: `present` and `scanned` are under `lock`.
    private let objectsDirectory: String
    private let lock = NSLock()
    private var present = [Bool](repeating: false, count: 256)
    private var scanned = -Double.infinity

    init(objectsDirectory: String) { self.objectsDirectory = objectsDirectory }

    /// Whether `id` may be stored loose (its fan-out directory exists, as far as is known).
    func mayHoldLoose(_ id: ObjectID) -> Bool {
        let index = Int(id.firstByte)
        lock.lock()
        defer { lock.unlock() }
        if present[index] { return true }
        let now = ProcessInfo.processInfo.systemUptime
        guard now - scanned >= 1 else { return false }
        scanned = now
        present = Self.scan(objectsDirectory)
        return present[index]
    }

    /// The fan-out directories in `objects`; all of them when it cannot be read (then every
    /// object is tried loose first, as if there were no index).
    private static func scan(_ objects: String) -> [Bool] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: objects) else {
            return [Bool](repeating: true, count: 256)
        }
        var found = [Bool](repeating: false, count: 256)
        for name in names where name.utf8.count == 2 {
            if let byte = UInt8(name, radix: 16) { found[Int(byte)] = true }
        }
        return found
    }
}
