import Foundation

/// A value behind a lock, for state shared between the threads of a FUSE daemon.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched inside `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A map from object names to parsed objects, bounded in bytes: each value's cost is an
/// estimate of the memory it holds (its entries, names and text, plus the map's own share).
/// Objects never change, so there is nothing to invalidate; when full it forgets everything
/// older than the current generation, which is cheap and keeps what the current walk is using.
final class ObjectCache<Value: Sendable>: @unchecked Sendable {
    private struct State {
        var current: [ObjectID: Value] = [:]
        var previous: [ObjectID: Value] = [:]
        var cost = 0
    }
    private let state = Locked(State())
    private let budget: Int
    private let cost: @Sendable (Value) -> Int

    /// At most `budget` bytes of values by `cost` (two generations of half of it each).
    init(budget: Int, cost: @escaping @Sendable (Value) -> Int) {
        self.budget = budget
        self.cost = cost
    }

    func get(_ id: ObjectID) -> Value? {
        state.withLock { s in
            if let hit = s.current[id] { return hit }
            guard let old = s.previous[id] else { return nil }
            s.current[id] = old  // promote, so a hot object survives the next rotation
            s.cost += cost(old)
            return old
        }
    }

    func put(_ id: ObjectID, _ value: Value) {
        let size = cost(value) + Self.slot
        state.withLock { s in
            s.cost += size
            if s.cost > budget / 2 {
                s.previous = s.current
                s.current = [:]
                s.cost = size
            }
            s.current[id] = value
        }
    }

    /// A dictionary slot: the key, the value's inline part, hashing headroom.
    private static var slot: Int { 2 * (MemoryLayout<ObjectID>.stride + MemoryLayout<Value>.stride) }
}
