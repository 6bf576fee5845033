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
    /// `git gc`, `git commit-graph write`): checked by the identity of its files at most once
    /// a second (every lookup of a history folder asks; a graph a second old is still right,
    /// only perhaps missing the newest commits, which are then read as objects).
    var commitGraph: CommitGraph? {
        let now = DispatchTime.now().uptimeNanoseconds
        if let fresh = graphCache.withLock({ now &- $0.checked < 1_000_000_000 && $0.checked != 0 ? $0 : nil }) { return fresh.graph }
        let info = objectsDirectory + "/info"
        let stamp = [info + "/commit-graph", info + "/commit-graphs/commit-graph-chain"].map { path -> [Int] in
            var s = stat()
            guard stat(path, &s) == 0 else { return [] }
            return [Int(s.st_ino), Int(s.st_size), Int(s.st_mtim.tv_sec), Int(s.st_mtim.tv_nsec)]
        }
        if let known = graphCache.withLock({ cache -> GraphCacheEntry? in
            guard cache.stamp == stamp else { return nil }
            cache.checked = now
            return cache
        }) { return known.graph }
        let graph = CommitGraph.load(objectsDirectory: objectsDirectory, repositoryPath: path)
        graphCache.withLock { $0 = GraphCacheEntry(stamp: stamp, graph: graph, checked: now) }
        return graph
    }

    /// A commit's summary: from the commit-graph if it holds the commit, else from the
    /// commit object (parsed only up to its committer line, cached apart from full commits).
    public func summary(of id: ObjectID) throws -> CommitSummary {
        var walk = firstParentWalk(from: id)
        return try walk.next()!  // a walk's first step is its start (or throws)
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
        FirstParentWalk(store: self, graph: commitGraph, start: start)
    }
}

/// The commit-graph file identity a `CommitGraph` was read from.
struct GraphCacheEntry: Sendable {
    var stamp: [[Int]] = []
    var graph: CommitGraph?
    /// When the stamp was last compared (uptime ns), 0 never.
    var checked: UInt64 = 0
}

/// First-parent history, newest first, reading the commit-graph where it holds the commits
/// and commit objects elsewhere (commits newer than the graph, or a repository without one).
public struct FirstParentWalk {
    let store: Store
    let graph: CommitGraph?
    /// The next commit: its graph record, read once (its parent's is read when it is
    /// returned, for the parent's name), or its name where the graph does not hold it.
    private enum Upcoming {
        case graph(GraphCommit)
        case object(ObjectID)
        case done
    }
    private var upcoming: Upcoming
    /// Graph steps taken: a chain of graph positions longer than the graph has commits loops,
    /// which only a damaged or crafted graph can do.
    private var graphSteps = 0

    init(store: Store, graph: CommitGraph?, start: ObjectID) {
        self.store = store
        self.graph = graph
        upcoming = Self.locate(start, in: graph)
    }

    /// Where the walk finds `id`: in the graph if it holds it, else as an object to read.
    private static func locate(_ id: ObjectID, in graph: CommitGraph?) -> Upcoming {
        if let graph, let position = graph.position(of: id), let record = graph.commit(at: position) { return .graph(record) }
        return .object(id)
    }

    /// The next commit, or nil past the root.
    public mutating func next() throws -> CommitSummary? {
        switch upcoming {
        case .done:
            return nil
        case .object(let id):
            let found = try store.objectSummary(id)
            upcoming = found.firstParent.map { Self.locate($0, in: graph) } ?? .done
            return found
        case .graph(let record):
            graphSteps += 1
            guard let graph, graphSteps <= graph.count else {
                throw SnapshotError.git(code: -1, klass: 0, message: "the commit-graph's history of \(record.id) loops")
            }
            var parent: ObjectID?
            if let position = record.firstParent {
                // A parent the graph cannot name is a damaged graph: the commit object says.
                guard let parentRecord = graph.commit(at: position) else {
                    let found = try store.objectSummary(record.id)
                    upcoming = found.firstParent.map { .object($0) } ?? .done
                    return found
                }
                parent = parentRecord.id
                upcoming = .graph(parentRecord)
            } else {
                upcoming = .done
            }
            return CommitSummary(id: record.id, tree: record.tree, firstParent: parent,
                                 time: Date(timeIntervalSince1970: TimeInterval(record.time)), graphPosition: record.position)
        }
    }

    /// Whether `commit` may have changed the path `keys` stand for, against its first parent:
    /// false only when the commit-graph's Bloom filter says certainly not.
    func mayHaveChanged(_ commit: CommitSummary, _ keys: BloomKeys) -> Bool {
        guard let graph, let position = commit.graphPosition else { return true }
        return graph.mayHaveChanged(keys, at: position)
    }
}
