import Foundation

/// A Git remote configured in the repository (`git remote add`, or the `origin` that
/// `git clone --bare` made): fetch one branch from it, push a branch and tags to it.
///
/// The network is `git`'s (see `GitCommand`): every URL, protocol and credential that works
/// for `git fetch` and `git push` works here. Nothing here ever forces a ref on the remote.
/// A fetched branch lands in `refs/remotes/<name>/<branch>`, as `git fetch` would put it.
public struct Remote: Sendable {
    /// The repository it belongs to.
    public let store: Store
    /// As configured: `origin`.
    public let name: String
    /// `remote.<name>.url` as configured (it may hold credentials: show `displayURL`).
    public let url: String

    /// What a push did.
    public enum PushResult: Sendable, Equatable {
        /// The remote now has what was pushed (or had it already).
        case pushed
        /// The remote's branch has commits this one lacks: fetch, merge, push again.
        case rejected(String)
    }

    /// The remote `name` of `store`; `invalidArgument` when it is not configured.
    public init(store: Store, name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        let known = store.git { $0.remoteNames() }
        let listed = known.isEmpty ? "it has none" : "its remotes: " + known.joined(separator: ", ")
        guard !name.isEmpty, !name.hasPrefix("-"), name.allSatisfy({ allowed.contains($0) }) else {
            throw SnapshotError.invalidArgument("--remote \(name.debugDescription): not a remote's name (a name is letters, digits, "
                                                + "'.', '_', '-' and '/'; \(listed))")
        }
        guard let url = store.git({ $0.configString("remote.\(name).url") }) else {
            throw SnapshotError.invalidArgument(
                "no remote \(name) in \(store.path) (\(listed); add one with: git --git-dir=\(store.path) remote add \(name) URL)")
        }
        self.store = store
        self.name = name
        self.url = url
    }

    /// The URL without credentials: a `user:password@` (or token) of an http(s) URL is
    /// dropped; an ssh user name is not a secret and stays.
    public var displayURL: String { Self.withoutCredentials(url) }

    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<hostEnd].lastIndex(of: "@") else { return url }
        let kind = url[..<scheme.lowerBound].lowercased()
        if kind.hasPrefix("ssh") || kind.hasPrefix("git+ssh") {
            let user = rest[..<at]
            guard let colon = user.firstIndex(of: ":") else { return url }
            return String(url[..<scheme.upperBound]) + user[..<colon] + rest[at...]
        }
        return String(url[..<scheme.upperBound]) + rest[rest.index(after: at)...]
    }

    /// Where `fetch` keeps the remote's `branch`.
    public func trackingRef(_ branch: String) -> String { "refs/remotes/\(name)/\(branch)" }

    /// The remote's `branch` as last fetched or pushed; nil before the first.
    public func tracking(_ branch: String) throws -> ObjectID? {
        try store.git { try $0.resolve(ref: trackingRef(branch)) }
    }

    /// Asks the remote for `branch` and stores it in `trackingRef`; returns it, nil when the
    /// remote has no such branch (an empty repository). Tags are not fetched.
    @discardableResult
    public func fetch(branch: String, timeout: TimeInterval = 120, onStart: ((pid_t) -> Void)? = nil) throws -> ObjectID? {
        let output = try GitCommand(repository: store.path).run(
            ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet", name,
             "+refs/heads/\(branch):\(trackingRef(branch))"], timeout: timeout, onStart: onStart)
        if output.status != 0 {
            if output.stderr.contains("couldn't find remote ref") { return nil }
            throw SnapshotError.remote("fetch from \(name) (\(displayURL)): \(output.message)")
        }
        return try tracking(branch)
    }

    /// What `git push --porcelain` said about the branch. Lines are `<flag>\t<from>:<to>\t<summary>`,
    /// `!` a refusal: `.rejected` when the remote's branch has commits this one lacks
    /// (`[rejected]`), and also when another push moved it first (`[remote rejected]
    /// (failed to update ref)`, or a lock git could not take): both are answered by fetching
    /// and merging at once, not by backing off. Any other refusal (a hook, a protected branch)
    /// throws, with the server's own `remote:` lines, which say why. nil when nothing was
    /// refused.
    static func refusal(stdout: String, stderr: String, branch: String) throws -> PushResult? {
        let refused = stdout.split(separator: "\n").filter { $0.hasPrefix("!\t") }
        guard !refused.isEmpty else { return nil }
        let line = refused.first(where: { $0.contains(":refs/heads/\(branch)\t") }) ?? refused[0]
        let summary = String(line.split(separator: "\t").last ?? "")
        let raced = ["failed to update ref", "failed to lock", "cannot lock ref", "incorrect old value"]
        if line.contains(":refs/heads/\(branch)\t"), summary.contains("[rejected]") || raced.contains(where: summary.contains) {
            return .rejected(summary)
        }
        let said = stderr.components(separatedBy: .newlines)
            .filter { $0.hasPrefix("remote: ") }
            .map { $0.dropFirst("remote: ".count).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("error: ") }
        throw SnapshotError.remote(summary + (said.isEmpty ? "" : ": " + said.suffix(3).joined(separator: " / ")))
    }

    /// Pushes `branch` (never forced) and the named tags, and deletes `deletingTags` on the
    /// remote; records what the remote now has in `trackingRef`.
    public func push(branch: String, commit: ObjectID, tags: [String] = [], deletingTags: [String] = [],
                     timeout: TimeInterval = 120, onStart: ((pid_t) -> Void)? = nil) throws -> PushResult {
        // The commit, not the branch name: the branch may move while the push runs, and
        // what the tracking ref records must be what was sent.
        // Git LFS objects the commit needs go first (see `pushLFSObjects`).
        try pushLFSObjects(of: commit, timeout: timeout, onStart: onStart)
        var specs = ["\(commit.hex):refs/heads/\(branch)"]
        specs += tags.map { "refs/tags/\($0):refs/tags/\($0)" }
        specs += deletingTags.map { ":refs/tags/\($0)" }
        let output = try GitCommand(repository: store.path).run(
            // A `git clone --mirror` marks the remote `mirror`, which refuses refspecs: this
            // push sends exactly what is named.
            ["-c", "remote.\(name).mirror=false", "push", "--porcelain", "--no-verify", name] + specs,
            timeout: timeout, onStart: onStart)
        do {
            if let refused = try Self.refusal(stdout: output.stdout, stderr: output.stderr, branch: branch) { return refused }
        } catch SnapshotError.remote(let why) {
            throw SnapshotError.remote("push to \(name) (\(displayURL)): \(why)")
        }
        guard output.status == 0 else {
            throw SnapshotError.remote("push to \(name) (\(displayURL)): \(output.message)")
        }
        try store.updatingRefs { repo in
            try repo.updateRef(trackingRef(branch), to: commit, expected: try repo.resolve(ref: trackingRef(branch)),
                               message: "update by push")
        }
        return .pushed
    }
}
