import CGit2
import Crypto

/// The object kinds a pack can hold, with their pack type numbers.
enum ObjectType: UInt8 {
    case commit = 1, tree = 2, blob = 3, tag = 4

    var name: String {
        switch self {
        case .commit: return "commit"
        case .tree: return "tree"
        case .blob: return "blob"
        case .tag: return "tag"
        }
    }
}

extension ObjectType {
    var git: git_object_t {
        switch self {
        case .commit: return GIT_OBJECT_COMMIT
        case .tree: return GIT_OBJECT_TREE
        case .blob: return GIT_OBJECT_BLOB
        case .tag: return GIT_OBJECT_TAG
        }
    }
}
