import Crypto
import Foundation

/// A bare partial clone of a URL, made for mounting it without fetching every blob: trees and
/// commits come at once, file contents when something reads them (`PromisedObjects`).
public enum PartialClone {
    /// Whether a repository argument is a URL git can clone rather than a local path:
    /// `scheme://...`, or git's scp-like `[user@]host:path` (a colon before any slash), unless
    /// a local file of that name exists.
    public static func isURL(_ text: String) -> Bool {
        if text.contains("://") { return true }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        if let slash = text.firstIndex(of: "/"), slash < colon { return false }
        return !FileManager.default.fileExists(atPath: text)
    }

    /// Where the clone of `url` is kept under `cache`: the URL's last name and a hash of the
    /// whole URL (`data-3f2a9c1b7e04.git`), so two URLs never share a clone.
    public static func directory(for url: String, in cache: String) -> String {
        var name = url.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? "repository"
        if name.hasSuffix(".git") { name.removeLast(4) }
        name = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }.prefix(64))
        if name.isEmpty || name.hasPrefix(".") { name = "repository" + name }
        let hash = SHA256.hash(data: Data(url.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "\(cache)/\(name)-\(hash).git"
    }

    /// Makes `directory` a bare clone of `url` without trees or blobs (`--filter=tree:0`), unless it
    /// already is a clone of that URL, which is then reused as it is (the mount's sync fetches
    /// what is new). The clone is made under a temporary name beside `directory` and renamed
    /// into place only when complete, so an interrupted clone is never taken for one.
    /// A server that does not filter gives a complete clone, which works the same; so does
    /// one that filters but cannot hand out an object by name (protocol v0, as an ssh server
    /// that does not accept `GIT_PROTOCOL` speaks, without `uploadpack.allowAnySHA1InWant`),
    /// from which no content could ever be fetched later: it is cloned whole instead, and
    /// `note` says so. Returns whether a clone was made.
    @discardableResult
    public static func ensure(url: String, directory: String, timeout: TimeInterval = 3600,
                              note: (String) -> Void = { _ in }) throws -> Bool {
        if FileManager.default.fileExists(atPath: directory) {
            let origin = try? GitCommand(repository: directory).run(["config", "--get", "remote.origin.url"], timeout: 30)
            // (A folder git cannot read is not a clone of anything: the message below says so.)
            let found = origin?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard origin?.status == 0, found == url else {
                throw SnapshotError.invalidArgument("\(directory) exists and is not a clone of \(url)"
                    + (found.isEmpty ? "" : " (its origin is \(found))") + ": give another --repo, or remove it")
            }
            return false
        }
        let parent = (directory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent.isEmpty ? "." : parent, withIntermediateDirectories: true)
        let temporary = directory + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)  // left by a clone killed at this pid: ours to remove
        // Commits only (trees come after: `Store.fetchHistoryTrees`); a server that does not
        // filter trees is asked for a clone without blobs.
        do { try clone(url, into: temporary, filter: "tree:0", timeout: timeout) } catch {
            try clone(url, into: temporary, filter: "blob:none", timeout: timeout)
        }
        if !handsOutObjects(temporary) {
            note("\(url) cannot hand out one object by name (protocol v0 without uploadpack.allowAnySHA1InWant; over ssh, "
                 + "an sshd that does not AcceptEnv GIT_PROTOCOL): cloning it whole instead")
            try? FileManager.default.removeItem(atPath: temporary)  // replaced at once by the whole clone
            try clone(url, into: temporary, filter: nil, timeout: timeout)
        }
        guard rename(temporary, directory) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)  // the rename's error below is what matters
            throw SnapshotError.posix("cannot move the clone to \(directory): \(reason)")
        }
        return true
    }

    private static func clone(_ url: String, into directory: String, filter: String?, timeout: TimeInterval) throws {
        let output = try GitCommand(repository: nil).run(
            ["clone", "--bare"] + (filter.map { ["--filter=\($0)"] } ?? []) + ["--quiet", "--", url, directory], timeout: timeout)
        guard output.status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)  // a failed clone's leftovers: the error below says why
            throw SnapshotError.remote("cannot clone \(url): \(output.message)")
        }
    }

    /// Whether the server of a fresh partial clone hands out an object when asked by name, as
    /// every later read will ask: the tip's tree if the clone lacks it (its first listing
    /// needs it anyway), else a blob of the tip's top folder. Only the server's refusal says
    /// no: a clone with nothing to ask for, or a failure of another kind (the network), is
    /// left as it is and tells its reason when a file is read.
    static func handsOutObjects(_ clone: String) -> Bool {
        // Asked of libgit2, which knows nothing of promisors: `git cat-file` would fetch.
        let wanted: ObjectID? = {
            guard let repo = try? GitRepository.open(clone),  // unreadable: nothing to ask, as said above
                  let head = try? repo.resolve(ref: "HEAD"), let commit = try? Commit.parse(repo.read(head).data, id: head)
            else { return nil }
            guard repo.exists(commit.tree) else { return commit.tree }
            let top = try? Tree.parse(repo.read(commit.tree).data, id: commit.tree)  // unparsable: nothing to ask
            return top?.entries.first { $0.mode.isFile && !repo.exists($0.id) }?.id
        }()
        guard let wanted else { return true }
        let git = GitCommand(repository: clone)
        guard let fetch = try? git.run(PromisedObjects.fetchArguments(remote: "origin", ids: [wanted]), timeout: 120)
        else { return true }  // git could not run: the first read says why
        return fetch.status == 0 || !fetch.stderr.contains("not allow request for unadvertised object")
    }
}
