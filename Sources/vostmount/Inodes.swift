import CFuse
import Foundation

/// Inode numbers for nodes, with the kernel's lookup counts.
///
/// Numbers come from a counter and are never reused, so a late `forget` can never hit a
/// newer node that took the same number (the kernel's generation stays 0). Every reply that
/// hands the kernel an entry (`lookup`, `mkdir`, `readdirplus`...) raises the node's count by
/// one; `forget` lowers it by what the kernel says, and at zero the node is dropped. A count
/// going below zero means the kernel and we disagree: that is logged, never a crash.
final class InodeTable: @unchecked Sendable {
    // @unchecked: `state` is only touched under `lock`.
    private struct State {
        var nodes: [UInt64: (node: Node, lookups: UInt64)] = [:]
        var ids: [Node: UInt64] = [:]
        var next: UInt64 = 2
    }
    private let lock = NSLock()
    private var state = State()
    let root: Node

    init(root: Node) {
        self.root = root
        state.nodes[UInt64(FUSE_ROOT_ID)] = (root, 1)
        state.ids[root] = UInt64(FUSE_ROOT_ID)
    }

    /// The inode of `node` if the kernel may know it; never creates one.
    func existingID(_ node: Node) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        return state.ids[node]
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
        if let id = state.ids[node] {
            state.nodes[id]!.lookups += 1
            return id
        }
        let id = state.next
        state.next += 1
        state.ids[node] = id
        state.nodes[id] = (node, 1)
        return id
    }

    /// The inode a plain `readdir` shows for a node (its number if known, else a fresh one
    /// kept with no lookups, so that a later lookup returns the same number).
    func peek(_ node: Node) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        if let id = state.ids[node] { return id }
        let id = state.next
        state.next += 1
        state.ids[node] = id
        state.nodes[id] = (node, 0)
        return id
    }

    /// Lowers a node's lookup count; returns false if the kernel forgot more than it was told.
    @discardableResult
    func forget(_ id: UInt64, _ count: UInt64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard id != UInt64(FUSE_ROOT_ID), let entry = state.nodes[id] else { return true }
        guard entry.lookups >= count else {
            state.nodes.removeValue(forKey: id)
            state.ids.removeValue(forKey: entry.node)
            return false
        }
        if entry.lookups == count {
            state.nodes.removeValue(forKey: id)
            state.ids.removeValue(forKey: entry.node)
        } else {
            state.nodes[id]!.lookups -= count
        }
        return true
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return state.nodes.count
    }
}
