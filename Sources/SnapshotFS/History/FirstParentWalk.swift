import CGit2
import Foundation

/// What a history walk needs of one commit: its root tree, first parent and time.
public struct CommitSummary: Sendable, Equatable {
    public let id: ObjectID
    public let tree: ObjectID
    public let firstParent: ObjectID?
    /// The commit time (committer's), as `Snapshot.time`.
    public let time: Date
    /// Where the commit-graph holds it, if it does (for its changed-path filter).
    let graphPosition: Int?

    /// Reads the headers a walk needs and stops at the committer line (nothing after it is
    /// parsed or kept).
    static func parse(_ data: [UInt8], id: ObjectID) throws -> CommitSummary {
        var tree: ObjectID?
        var parent: ObjectID?
        var time = Date(timeIntervalSince1970: 0)
        Commit.scanHeaders(data) { header, value in
            switch header {
            case .tree: tree = ObjectID(hexBytes: value.prefix(40))
            case .parent: if parent == nil { parent = ObjectID(hexBytes: value.prefix(40)) }
            case .author: break
            case .committer:
                time = Signature(parsing: value).time
                return false
            }
            return true
        }
        guard let tree else { throw SnapshotError.git(code: -1, klass: 0, message: "corrupt commit \(id)") }
        return CommitSummary(id: id, tree: tree, firstParent: parent, time: time, graphPosition: nil)
    }
}

extension Store {
    /// The repository's commit-graph, re-read when git has replaced it (`git maintenance`,
    /// `git gc`, `git commit-graph write`): checked by the identity of its files, a `stat`
    /// or two per call.
    var commitGraph: CommitGraph? {
        let info = objectsDirectory + "/info"
        let stamp = [info + "/commit-graph", info + "/commit-graphs/commit-graph-chain"].map { path -> [Int] in
            var s = stat()
            guard stat(path, &s) == 0 else { return [] }
            return [Int(s.st_ino), Int(s.st_size), Int(s.st_mtim.tv_sec), Int(s.st_mtim.tv_nsec)]
        }
        if let known = graphCache.withLock({ $0.stamp == stamp ? $0 : nil }) { return known.graph }
        let graph = CommitGraph.load(objectsDirectory: objectsDirectory, repositoryPath: path)
        graphCache.withLock { $0 = GraphCacheEntry(stamp: stamp, graph: graph) }
        return graph
    }

    /// A commit's summary: from the commit-graph if it holds the commit, else from the
    /// commit object (parsed only up to its committer line, cached apart from full commits).
    public func summary(of id: ObjectID) throws -> CommitSummary {
        if let graph = commitGraph, let position = graph.position(of: id), let found = graph.commit(at: position) {
            return try summary(found, in: graph)
        }
        return try objectSummary(id)
    }

    func objectSummary(_ id: ObjectID) throws -> CommitSummary {
        if let hit = summaries.get(id) { return hit }
        if let full = commits.get(id) {
            return CommitSummary(id: id, tree: full.tree, firstParent: full.parents.first, time: full.committer.time, graphPosition: nil)
        }
        let (type, data) = try smallObject(id)
        guard type == GIT_OBJECT_COMMIT else { throw SnapshotError.invalidRevision("\(id) is not a commit") }
        let found = try CommitSummary.parse(data, id: id)
        summaries.put(id, found)
        return found
    }

    /// The graph's record as a summary (its parent's name read from the graph too).
    fileprivate func summary(_ found: GraphCommit, in graph: CommitGraph) throws -> CommitSummary {
        var parent: ObjectID?
        if let position = found.firstParent {
            // A parent the graph cannot name is a damaged graph: the commit object says.
            guard let record = graph.commit(at: position) else { return try objectSummary(found.id) }
            parent = record.id
        }
        return CommitSummary(id: found.id, tree: found.tree, firstParent: parent,
                             time: Date(timeIntervalSince1970: TimeInterval(found.time)), graphPosition: found.position)
    }

    /// The commit whose name starts with `hex` (4 to 40 digits), without looking at refs:
    /// nil if no object has that prefix or it is not a commit; `invalidRevision` if several
    /// objects share it.
    public func commit(abbreviated hex: String) throws -> CommitSummary? {
        guard hex.count >= 4, hex.count <= 40, hex.allSatisfy(\.isHexDigit),
              let id = try git({ try $0.expand(prefix: hex.lowercased()) }) else { return nil }
        do { return try summary(of: id) } catch SnapshotError.invalidRevision { return nil }
    }

    /// First-parent history from `start` back, newest first, one summary at a time.
    public func firstParentWalk(from start: ObjectID) -> FirstParentWalk {
        FirstParentWalk(store: self, graph: commitGraph, next: start)
    }
}

/// The commit-graph file identity a `CommitGraph` was read from.
struct GraphCacheEntry: Sendable {
    var stamp: [[Int]] = []
    var graph: CommitGraph?
}

/// First-parent history, newest first, reading the commit-graph where it holds the commits
/// and commit objects elsewhere (commits newer than the graph, or a repository without one).
public struct FirstParentWalk {
    let store: Store
    let graph: CommitGraph?
    private var upcoming: ObjectID?
    /// Graph steps taken: a chain of graph positions longer than the graph has commits loops,
    /// which only a damaged or crafted graph can do.
    private var graphSteps = 0

    init(store: Store, graph: CommitGraph?, next: ObjectID) {
        self.store = store
        self.graph = graph
        upcoming = next
    }

    /// The next commit, or nil past the root.
    public mutating func next() throws -> CommitSummary? {
        guard let id = upcoming else { return nil }
        let found: CommitSummary
        if let graph, let position = graph.position(of: id), let record = graph.commit(at: position) {
            graphSteps += 1
            guard graphSteps <= graph.count else {
                throw SnapshotError.git(code: -1, klass: 0, message: "the commit-graph's history of \(id) loops")
            }
            found = try store.summary(record, in: graph)
        } else {
            found = try store.objectSummary(id)
        }
        upcoming = found.firstParent
        return found
    }

    /// Whether `commit` may have changed the path `keys` stand for, against its first parent:
    /// false only when the commit-graph's Bloom filter says certainly not.
    func mayHaveChanged(_ commit: CommitSummary, _ keys: BloomKeys) -> Bool {
        guard let graph, let position = commit.graphPosition else { return true }
        return graph.mayHaveChanged(keys, at: position)
    }
}
