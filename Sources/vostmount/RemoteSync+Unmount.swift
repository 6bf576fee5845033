import Foundation
import SnapshotFS

extension RemoteSync {
    /// Stops the thread (killing a fetch or push in flight), then tries one last push for at
    /// most `timeout` seconds. Returns a warning when commits stay unpushed.
    func stop(pushWithin timeout: TimeInterval) -> String? {
        condition.lock()
        stopping = true
        if child != 0 { kill(-child, SIGKILL) }
        let wait = started
        condition.signal()
        condition.unlock()
        if wait { finished.wait() }
        if readOnly { return nil }
        let store = remote.store
        guard let tip = try? store.branches.get(branch)?.commitID else { return nil }
        // The same push as the loop's (tags still pending included), bounded by `timeout`.
        condition.lock()
        lastPush = true
        condition.unlock()
        if timeout > 0 {
            do { _ = try push(timeout: timeout) } catch { failed(error) }
        }
        let tracked = try? remote.tracking(branch)
        if let tracked, (try? store.contains(tip, in: tracked)) == true { return nil }
        let ahead = tracked.flatMap { try? store.aheadBehind(tip, $0).ahead }
        let count = ahead.map { "\($0) commit\($0 == 1 ? "" : "s")" } ?? "commits"
        return "\(count) of \(branch) not pushed to \(remote.name) (\(remote.displayURL))"
            + (current.error.map { ": \($0)" } ?? "") + "; they will be pushed at the next mount with --remote \(remote.name)"
    }
}
