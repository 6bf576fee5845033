import Foundation

/// The LFS part of a workspace's commit: which new content goes to LFS, by the
/// `.gitattributes` of the tree being committed (see `LFSRules`) and `--lfs-threshold`.
extension Workspace {
    /// The rules of `$GIT_DIR/info/attributes` and the root's `.gitattributes`.
    func rootRules() throws -> LFSRules {
        guard lfs else { return LFSRules() }
        let info = FileManager.default.contents(atPath: store.path + "/info/attributes").map { Array($0) } ?? []
        return try rules(in: root, at: .root, inherited: LFSRules(info: info))
    }

    /// `inherited` plus the `.gitattributes` of `dir` (at `path`), as the tree being
    /// committed has it (pending or committed). Under the lock.
    func rules(in dir: WorkNode, at path: RepoPath, inherited: LFSRules) throws -> LFSRules {
        guard lfs else { return inherited }
        let name = Array(".gitattributes".utf8)
        let text: [UInt8]
        switch dir.content {
        case .directory(let entries, _):
            guard let node = entries[name], node.mode.isFile else { return inherited }
            switch node.content {
            case .blob(let id): text = try store.blob(id)
            case .bytes(let bytes): text = bytes
            case .staged(let file): text = try file.read(at: 0, count: file.size)
            case .tree, .directory: return inherited
            }
        case .tree(let id):
            guard let entry = try store.tree(id)[name], entry.mode.isFile else { return inherited }
            text = try store.blob(entry.id)
        default:
            return inherited
        }
        return inherited.adding(text, base: path)
    }

    /// Whether new content at `path` is stored in LFS (a pointer committed in its place).
    /// The files that configure LFS never are, as `git lfs` refuses them.
    func goesToLFS(_ path: RepoPath, size: Int, rules: LFSRules) -> Bool {
        guard lfs, path.name != Array(".gitattributes".utf8), path.name != Array(".lfsconfig".utf8) else { return false }
        if let lfsThreshold, size > lfsThreshold { return true }
        return rules.matches(path)
    }
}
