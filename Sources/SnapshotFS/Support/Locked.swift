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

/// A bounded map from object names to parsed objects. Objects never change, so there is
/// nothing to invalidate; when full it forgets everything older than the current generation,
/// which is cheap and keeps what the current walk is using.
final class ObjectCache<Value: Sendable>: @unchecked Sendable {
    private struct State {
        var current: [ObjectID: Value] = [:]
        var previous: [ObjectID: Value] = [:]
        var cost = 0
    }
    private let state = Locked(State())
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ id: ObjectID) -> Value? {
        state.withLock { s in
            if let hit = s.current[id] { return hit }
            guard let old = s.previous[id] else { return nil }
            s.current[id] = old  // promote, so a hot object survives the next rotation
            return old
        }
    }

    func put(_ id: ObjectID, _ value: Value, cost: Int = 1) {
        state.withLock { s in
            s.cost += cost
            if s.cost > capacity / 2 {
                s.previous = s.current
                s.current = [:]
                s.cost = cost
            }
            s.current[id] = value
        }
    }
}
