import CGit2
import Foundation

/// One line of a ref's reflog, newest first when read.
public struct ReflogEntry: Sendable, Equatable {
    /// Where the ref was before (forty zeros when it was created).
    public let old: ObjectID
    /// Where the ref went.
    public let new: ObjectID
    /// Who moved it, as the reflog line says.
    public let committerName: String
    /// Their email.
    public let committerEmail: String
    /// When (whole seconds).
    public let time: Date
    /// The reflog message: `commit: <message>`, `undo: move back`, `redo: move forward`...
    public let message: String
}
