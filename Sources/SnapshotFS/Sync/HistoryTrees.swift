import Foundation

/// Whether a treeless partial clone (`--filter=tree:0`: commits only, made so that a URL
/// mounts in the time its commits take) has its history's trees yet: they come in one bulk
/// fetch after the mount, while the tip's trees come at once with its first listing.
///
/// Meanwhile a tree is fetched on its own (one request for `@~3`, or for a tip taken in),
/// but a walk through history (`@/versions`) would ask for thousands: past the first
/// `aloneBeforeWaiting` trees fetched alone, a walk waits for the bulk fetch instead. Only
/// walks wait (`Store.present(walking:)`), and they hold no lock of the workspace.
///
/// Thread-safe: `condition` guards the fields.
final class HistoryTrees: @unchecked Sendable {
    // @unchecked: the fields are under `condition`.
    enum State: Equatable {
        case complete
        case fetching(since: Date)
        case failed(String)
    }

    private let condition = NSCondition()
    private var current = State.complete
    private var fetchedAlone = 0
    static let aloneBeforeWaiting = 8
    /// How long a caller waits for the bulk fetch at most (then fetches its tree alone).
    static let waitAtMost: TimeInterval = 600

    var state: State { condition.withLock { current } }

    func begin() {
        condition.withLock {
            current = .fetching(since: Date())
            fetchedAlone = 0
        }
    }

    func finish(failure: String?) {
        condition.withLock {
            current = failure.map { .failed($0) } ?? .complete
            condition.broadcast()
        }
    }

    /// Called before a tree is fetched alone: true after waiting for the bulk fetch to end,
    /// when it is running and enough trees were fetched alone meanwhile.
    func waitedForBulk() -> Bool {
        condition.withLock {
            guard case .fetching = current else { return false }
            fetchedAlone += 1
            guard fetchedAlone > Self.aloneBeforeWaiting else { return false }
            let deadline = Date().addingTimeInterval(Self.waitAtMost)
            while case .fetching = current {
                guard condition.wait(until: deadline) else { break }
            }
            return true
        }
    }
}
