import Foundation
import SnapshotFS

/// Notes as extended attributes of history folders: `user.vost.note.<namespace>` on the root
/// of `@<rev>`, `@/log/<entry>`, `@/tags/<name>`, `@/branches/<name>` (and of a `--ref`
/// mount) is the note of that commit in `refs/notes/<namespace>` (git's default namespace is
/// `commits`). Setting or removing one is a notes commit, as vost writes them: the one write
/// allowed inside history. Only with `--notes` (see `Operations.getxattr` for why).
extension Filesystem {
    static let notePrefix = "user.vost.note."

    /// The commit whose notes `node`'s attributes are, nil for anything but a history root.
    func noteTarget(_ node: Node) -> ObjectID? { node.kind.noteTarget(in: self) }

    /// The namespace an attribute name stands for; nil if it is not a note's.
    private func noteNamespace(_ name: String) throws -> String? {
        guard name.hasPrefix(Self.notePrefix) else { return nil }
        let namespace = String(name.dropFirst(Self.notePrefix.count))
        guard !namespace.isEmpty, store.isValidNotesNamespace(namespace) else { throw Errno.invalid }
        return namespace
    }

    /// `getxattr`: a note's text; `ENODATA` for a commit without one and for every other
    /// name and node (nothing else is stored).
    func extendedAttribute(_ id: UInt64, name: String) throws -> [UInt8] {
        guard let target = noteTarget(try node(id)), let namespace = try noteNamespace(name),
              let text = try store.notes(namespace).get(target.hex) else { throw Errno.noData }
        return Array(text.utf8)
    }

    /// `listxattr`: the note names present on a history root, NUL-terminated each.
    func extendedAttributeNames(_ id: UInt64) throws -> [UInt8] {
        guard let target = noteTarget(try node(id)) else { return [] }
        var names: [UInt8] = []
        for namespace in try store.notesNamespaces() where (try? store.notes(namespace).get(target.hex)) != nil {
            names += Array((Self.notePrefix + namespace).utf8) + [0]
        }
        return names
    }

    /// `setxattr`/`removexattr` of a note; false when `name` is not a note's (the caller
    /// then tries the other attributes).
    func setNote(_ id: UInt64, name: String, value: String?) throws -> Bool {
        let node = try node(id)
        guard let namespace = try noteNamespace(name) else { return false }
        guard config.notes, let target = noteTarget(node) else { throw Errno.notSupported }
        if config.readOnly { throw Errno.readOnly }
        let notes = store.notes(namespace)
        // Another writer may move the notes ref meanwhile: re-read and apply again.
        for attempt in 0..<20 {
            do {
                if let value {
                    try notes.set(target.hex, value)
                } else {
                    guard try notes.get(target.hex) != nil else { throw Errno.noData }
                    try notes.delete(target.hex)
                }
                return true
            } catch SnapshotError.stale {
                usleep(UInt32.random(in: 1_000...10_000) * UInt32(attempt + 1))
            }
        }
        throw Errno(code: EAGAIN)
    }
}
