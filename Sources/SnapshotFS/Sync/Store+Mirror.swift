import Foundation

/// One ref that a backup or restore creates, moves or deletes.
public struct RefChange: Sendable, Equatable {
    /// The full ref name, `refs/heads/main`.
    public let ref: String
    /// Where it pointed before; nil when it is created.
    public let old: ObjectID?
    /// Where it points after; nil when it is deleted.
    public let new: ObjectID?
}

/// What a backup or restore changes (or, in a dry run, would change): vost's `MirrorDiff`.
public struct MirrorDiff: Sendable, Equatable {
    public var add: [RefChange] = []
    public var update: [RefChange] = []
    public var delete: [RefChange] = []
    /// Nothing to change.
    public var inSync: Bool { add.isEmpty && update.isEmpty && delete.isEmpty }
    /// How many refs change.
    public var total: Int { add.count + update.count + delete.count }
}

extension Store {
    /// Mirrors every ref to `url` (vost's `backup`): the remote ends with exactly this
    /// repository's refs, moved by force and the ones it alone had deleted. A local path that
    /// does not exist becomes a new bare repository. `dryRun` only reports.
    @discardableResult
    public func backup(to url: String, dryRun: Bool = false, timeout: TimeInterval = 600) throws -> MirrorDiff {
        let localPath = url.hasPrefix("file://") ? String(url.dropFirst(7)) : url
        let missing = Self.isLocalPath(url) && !FileManager.default.fileExists(atPath: localPath)
        if missing, !dryRun { _ = try GitRepository.initBare(localPath, branch: "refs/heads/main") }
        let remote = missing ? [:] : try remoteRefs(url, timeout: timeout)
        let diff = Self.diff(from: try localRefs(), onto: remote, deleting: true)
        if !dryRun, !diff.inSync {
            try run(["push", "--quiet", "--mirror", "--no-verify", url], timeout: timeout, what: "backup to \(Remote.withoutCredentials(url))")
        }
        return diff
    }

    /// Fetches every ref of `url` into this repository (vost's `restore`): additive, so refs
    /// only this repository has stay; the ones both have take the remote's value.
    @discardableResult
    public func restore(from url: String, dryRun: Bool = false, timeout: TimeInterval = 600) throws -> MirrorDiff {
        let diff = Self.diff(from: try remoteRefs(url, timeout: timeout), onto: try localRefs(), deleting: false)
        if !dryRun, !diff.inSync {
            // --update-head-ok: HEAD's branch may be restored too (this is a bare repository
            // as far as vost is concerned).
            try run(["fetch", "--quiet", "--no-tags", "--update-head-ok", "--no-write-fetch-head", url, "+refs/*:refs/*"],
                    timeout: timeout, what: "restore from \(Remote.withoutCredentials(url))")
        }
        return diff
    }

    private func run(_ arguments: [String], timeout: TimeInterval, what: String) throws {
        let output = try GitCommand(repository: path).run(arguments, timeout: timeout)
        guard output.status == 0 else { throw SnapshotError.remote("\(what): \(output.message)") }
    }

    static func isLocalPath(_ url: String) -> Bool {
        if url.hasPrefix("file://") { return true }
        if url.contains("://") { return false }
        // `host:path` is ssh's scp form; a path has a slash before any colon.
        guard let colon = url.firstIndex(of: ":") else { return true }
        return url[..<colon].contains("/")
    }

    private func localRefs() throws -> [String: ObjectID] {
        try git { repo in
            var refs: [String: ObjectID] = [:]
            for name in try repo.refNames(under: "refs/") { refs[name] = try repo.resolve(ref: name) }
            return refs
        }
    }

    private func remoteRefs(_ url: String, timeout: TimeInterval) throws -> [String: ObjectID] {
        let output = try GitCommand(repository: path).run(["ls-remote", url], timeout: timeout)
        guard output.status == 0 else {
            throw SnapshotError.remote("list refs of \(Remote.withoutCredentials(url)): \(output.message)")
        }
        var refs: [String: ObjectID] = [:]
        for line in output.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, fields[1].hasPrefix("refs/"), !fields[1].hasSuffix("^{}"),
                  let id = ObjectID(hex: String(fields[0])) else { continue }
            refs[String(fields[1])] = id
        }
        return refs
    }

    /// What makes `destination` hold `source`'s refs.
    static func diff(from source: [String: ObjectID], onto destination: [String: ObjectID], deleting: Bool) -> MirrorDiff {
        var diff = MirrorDiff()
        for (ref, id) in source.sorted(by: { $0.key < $1.key }) {
            if let old = destination[ref] {
                if old != id { diff.update.append(RefChange(ref: ref, old: old, new: id)) }
            } else {
                diff.add.append(RefChange(ref: ref, old: nil, new: id))
            }
        }
        if deleting {
            for (ref, id) in destination.sorted(by: { $0.key < $1.key }) where source[ref] == nil {
                diff.delete.append(RefChange(ref: ref, old: id, new: nil))
            }
        }
        return diff
    }
}
