import CGit2
import Foundation

/// A ref's lock file (`refs/heads/main.lock`) stood in the way of moving the ref.
struct RefLockHeld: Error {
    let path: String
}
