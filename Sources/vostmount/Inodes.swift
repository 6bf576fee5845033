import CFuse
import Foundation

/// Inode numbers for nodes, with the kernel's lookup counts.
///
/// Numbers are never reused, so a late `forget` can never hit a newer node that took the
/// same number (the kernel's generation stays 0). A node of the branch is numbered by its
/// `WorkNode.serial` (even numbers), so a plain `readdir` can name any entry without adding
/// it here; history and index nodes get odd numbers from a counter, kept in `ids` while the
/// kernel knows them. The mount root is always `FUSE_ROOT_ID`.
///
/// Every reply that hands the kernel an entry (`lookup`, `mkdir`, `readdirplus`...) raises the
/// node's count by one; `forget` lowers it by what the kernel says, and at zero the node is
/// dropped. A count going below zero means the kernel and we disagree: that is logged, never
/// a crash.
final class InodeTable: @unchecked Sendable {
    // @unchecked: `state` is only touched under `lock`.
    private struct State {
        /// The nodes the kernel holds, with how many times it was told of each.
        var nodes: [UInt64: (node: Node, lookups: UInt64)] = [:]
        /// Numbers given to nodes that are not of the branch (they have no serial).
        var ids: [Node: UInt64] = [:]
        var next: UInt64 = 3
    }
    private let lock = NSLock()
    private var state = State()
    let root: Node

    init(root: Node) {
        self.root = root
        state.nodes[UInt64(FUSE_ROOT_ID)] = (root, 1)
    }

    /// The number a node has without asking the table, if it has one by nature.
    private func intrinsicID(_ node: Node) -> UInt64? {
        if node == root { return UInt64(FUSE_ROOT_ID) }
        return node.kind.intrinsicNumber
    }

    /// The inode of `node` if the kernel may know it; never creates one.
    func existingID(_ node: Node) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        if let id = intrinsicID(node) { return state.nodes[id] == nil ? nil : id }
        return state.ids[node]
    }

    /// The inodes the kernel holds whose node passes `test`.
    func existingIDs(where test: (Node) -> Bool) -> [UInt64] {
        lock.lock()
        defer { lock.unlock() }
        return state.nodes.compactMap { test($0.value.node) ? $0.key : nil }
    }

    func node(_ id: UInt64) -> Node? {
        lock.lock()
        defer { lock.unlock() }
        return state.nodes[id]?.node
    }

    /// The inode of `node`, created if new, with its lookup count raised by one (the kernel
    /// is about to receive it in an entry reply).
    func lookedUp(_ node: Node) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        let id = numberLocked(node)
        state.nodes[id] = (node, (state.nodes[id]?.lookups ?? 0) + 1)
        return id
    }

    /// The number a plain `readdir` shows for a node (`d_ino`), stored nowhere: a branch
    /// node's own number, a known node's number, else one derived from the node's hash
    /// (odd, like every number of a history node). Only `stat` promises `st_ino`; a listed
    /// name the kernel never looks up costs no memory, however many are listed.
    func listed(_ node: Node) -> UInt64 {
        if let id = intrinsicID(node) { return id }
        lock.lock()
        defer { lock.unlock() }
        if let id = state.ids[node] { return id }
        return max(3, UInt64(truncatingIfNeeded: node.hashValue) | 1)
    }

    /// The number an entry reply will carry, kept (with no lookups yet) until the kernel
    /// is told of it with `lookedUp`.
    func number(_ node: Node) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return numberLocked(node)
    }

    private func numberLocked(_ node: Node) -> UInt64 {
        if let id = intrinsicID(node) { return id }
        if let id = state.ids[node] { return id }
        let id = state.next
        state.next += 2
        state.ids[node] = id
        return id
    }

    /// Lowers a node's lookup count; returns false if the kernel forgot more than it was told.
    @discardableResult
    func forget(_ id: UInt64, _ count: UInt64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard id != UInt64(FUSE_ROOT_ID), let entry = state.nodes[id] else { return true }
        guard entry.lookups > count else {
            state.nodes.removeValue(forKey: id)
            if intrinsicID(entry.node) == nil { state.ids.removeValue(forKey: entry.node) }
            return entry.lookups == count
        }
        state.nodes[id] = (entry.node, entry.lookups - count)
        return true
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return state.nodes.count
    }
}
