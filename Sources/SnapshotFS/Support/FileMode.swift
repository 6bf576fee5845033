/// The kinds of entry a Git tree holds, with the modes Git writes for them.
public enum FileMode: UInt32, Sendable, CustomStringConvertible {
    case file = 0o100644
    case executable = 0o100755
    case symlink = 0o120000
    case directory = 0o040000
    /// A submodule commit; shown as an empty directory, never written by us.
    case gitlink = 0o160000

    /// Reads any mode Git has ever written (old trees hold `100664` and the like).
    init(parsing raw: UInt32) {
        switch raw & 0o170000 {
        case 0o040000: self = .directory
        case 0o120000: self = .symlink
        case 0o160000: self = .gitlink
        default: self = raw & 0o111 != 0 ? .executable : .file
        }
    }

    /// A directory, or a submodule entry (`gitlink`), which reads as an empty directory.
    public var isDirectory: Bool { self == .directory || self == .gitlink }
    /// A regular file, executable or not: what `read` accepts.
    public var isFile: Bool { self == .file || self == .executable }

    /// The suffix vost puts after a path in a one-change commit message.
    var messageSuffix: String {
        switch self {
        case .executable: return " (executable)"
        case .symlink: return " (link)"
        default: return ""
        }
    }

    /// The kind in words (`file`, `executable`, `symlink`, `directory`, `gitlink`).
    public var description: String {
        switch self {
        case .file: return "file"
        case .executable: return "executable"
        case .symlink: return "symlink"
        case .directory: return "directory"
        case .gitlink: return "submodule"
        }
    }

    /// The octal text Git writes in a tree entry (`40000` for trees, no leading zero).
    var treeText: [UInt8] { Array(String(rawValue, radix: 8).utf8) }
}
