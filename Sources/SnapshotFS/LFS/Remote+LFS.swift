import Foundation

/// Git LFS objects from the remote's LFS endpoint, through `git lfs` (as `Remote` goes
/// through `git`): the endpoint is found as git-lfs finds it (`lfs.url`,
/// `remote.<name>.lfsurl`, `.lfsconfig`, else from the remote's URL), with its credentials
/// and transfer adapters; a path or `file://` remote's own `lfs/objects` works the same way.
/// git-lfs checks each object's SHA-256 before it names it in the local store.
extension Remote {
    /// Brings the objects `commit`'s tree points to that the local store lacks (`git lfs
    /// fetch NAME COMMIT`: the files of that commit, not their history).
    public func fetchLFSObjects(of commit: ObjectID, timeout: TimeInterval, onStart: ((pid_t) -> Void)? = nil) throws {
        let output = try GitCommand(repository: store.path).run(
            ["lfs", "fetch", name, commit.hex], timeout: timeout, onStart: onStart)
        guard output.status == 0 else { throw SnapshotError.remote("LFS fetch from \(name): \(Self.lfsMessage(output))") }
    }

    /// Brings one object, whatever commit holds it (`git lfs smudge` of its pointer, whose
    /// output, the object, is not wanted: the local store's copy is).
    public func fetchLFSObject(_ pointer: LFSPointer, timeout: TimeInterval, onStart: ((pid_t) -> Void)? = nil) throws {
        // `remote.lfsdefault`: a bare repository has no upstream branch for git-lfs to pick
        // the remote from.
        let output = try GitCommand(repository: store.path).run(
            ["-c", "remote.lfsdefault=\(name)", "lfs", "smudge"], timeout: timeout, input: pointer.text,
            discardingOutput: true, onStart: onStart)
        guard output.status == 0 else {
            throw SnapshotError.remote("LFS object \(pointer.oid.prefix(12)) from \(name): \(Self.lfsMessage(output))")
        }
        guard !store.lacksLFSObject(pointer) else {
            throw SnapshotError.remote("LFS object \(pointer.oid.prefix(12)) from \(name): git lfs smudge did not store it"
                                       + " (is lfs.fetchexclude set?)")
        }
    }

    /// Sends the objects `commit` needs that the remote lacks (`git lfs push`, to an LFS
    /// server or into a path remote's own lfs/objects), before the commit itself is pushed,
    /// so that no clone ever sees a pointer whose object is nowhere. Only where LFS was ever
    /// used (the repository has an LFS store).
    func pushLFSObjects(of commit: ObjectID, timeout: TimeInterval, onStart: ((pid_t) -> Void)?) throws {
        guard FileManager.default.fileExists(atPath: store.lfsObjectsDirectory) else { return }
        let output = try GitCommand(repository: store.path).run(["lfs", "push", name, commit.hex], timeout: timeout, onStart: onStart)
        guard output.status == 0 else { throw SnapshotError.remote("LFS push to \(name) (\(displayURL)): \(Self.lfsMessage(output))") }
    }

    /// git-lfs's reason in one line: "remote missing object", a server's status, a
    /// connection refused; with the hint that git-lfs is missing where that is the cause.
    static func lfsMessage(_ output: GitCommand.Output) -> String {
        if output.stderr.contains("'lfs' is not a git command") { return "git-lfs is not installed (apt install git-lfs)" }
        let lines = output.stderr.components(separatedBy: .newlines).filter {
            !$0.hasPrefix("Errors logged to") && !$0.hasPrefix("Use `git lfs logs last`") && !$0.hasPrefix("Downloading ")
                && !$0.hasPrefix("fetch: Fetching reference")
        }
        return GitCommand.Output(status: output.status, stdout: "", stderr: lines.joined(separator: "\n"),
                                 timedOut: output.timedOut, seconds: output.seconds).message
    }
}

extension Store {
    /// Whether `pointer`'s object is missing from the local store, so that fetching it would
    /// help: no such file, or one of another size (a partial copy). An object that is there
    /// but cannot be read (permissions, a symlink refused by `Beneath`) is not missing: its
    /// reads say what is wrong with it.
    public func lacksLFSObject(_ pointer: LFSPointer) -> Bool {
        let fd: Int32
        do { fd = try Beneath.openRegularFile("\(lfsFolder(pointer))/\(pointer.oid)", in: path) } catch SnapshotError.io(let code, _) {
            return code == ENOENT
        } catch {
            return false
        }
        defer { close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 && Int(info.st_size) != pointer.size
    }
}
