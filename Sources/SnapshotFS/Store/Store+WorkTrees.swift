import Foundation

extension Store {
    /// Branches checked out in a work tree of this repository (its own, if it is not bare,
    /// and every linked `git worktree`), with the work tree's path: moving one of them
    /// under the work tree would make `git status` there show the change reversed.
    ///
    /// A guard, read from files git writes: a work tree whose `HEAD` cannot be read (being
    /// removed, say) is not counted, as `git worktree list` shows it broken; one whose
    /// `gitdir` cannot be read is named by its folder under `worktrees`. A `worktrees` folder
    /// that exists but cannot be listed is an error: the guard cannot answer.
    public func checkedOutBranches() throws -> [(branch: String, workTree: String)] {
        var found: [(String, String)] = []
        func headBranch(_ gitDir: String) -> String? {
            guard let head = try? String(contentsOfFile: gitDir + "/HEAD", encoding: .utf8),
                  head.hasPrefix("ref: refs/heads/") else { return nil }
            return String(head.dropFirst("ref: refs/heads/".count)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let workDir = git({ $0.workDirectory }), let branch = headBranch(path) {
            found.append((branch, workDir))
        }
        let linked = path + "/worktrees"
        var names: [String] = []
        if access(linked, F_OK) == 0 {
            do { names = try FileManager.default.contentsOfDirectory(atPath: linked) } catch {
                throw SnapshotError.invalidArgument("cannot list \(linked), so cannot tell which branches work trees have checked out: \(error.localizedDescription)")
            }
        }
        for name in names {
            let dir = "\(linked)/\(name)"
            guard let branch = headBranch(dir) else { continue }
            // `gitdir` holds the path of the work tree's `.git` file.
            let gitFile = (try? String(contentsOfFile: dir + "/gitdir", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? dir
            found.append((branch, (gitFile as NSString).deletingLastPathComponent))
        }
        return found
    }
}

extension Store {
    /// Gives an empty repository its first commit on `branch`, as vost's `create` does (the
    /// empty tree, "Initialize <branch>"), and points `HEAD` at it if `HEAD`'s own branch has
    /// no commit either. Nothing happens if the branch exists.
    public func initialize(branch: String) throws {
        let ref = try branches.fullName(branch)
        guard try git({ try $0.resolve(ref: ref) }) == nil else { return }
        let message = "Initialize \(branch)"
        let commit = try writeCommit(tree: writeTree([]), parents: [], message: message)
        do {
            try updatingRefs { try $0.updateRef(ref, to: commit, expected: nil, message: "commit (initial): \(message)") }
        } catch SnapshotError.alreadyExists {
            return  // someone made it meanwhile: theirs stands
        }
        if let head = branches.headName, try !branches.contains(head) {
            try git { try $0.setSymbolic("HEAD", to: ref, message: "checkout: moving to \(branch)") }
        }
    }
}
