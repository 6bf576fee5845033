import Foundation

/// The repository's commit-graph, as `git commit-graph write` (and `git maintenance`, `git gc`)
/// leave it: one file, or a chain of layers. It answers what a history walk needs of a commit
/// (root tree, first parent, time) without inflating the commit, and, when written with
/// `--changed-paths`, whether a commit may have changed a path without reading a tree.
///
/// Git ignores the graph in a shallow repository (its parents would name commits that are
/// not there); so does this. A graph that is missing, unreadable or inconsistent is no graph:
/// walks then read commit objects, as they do in a repository that never had one.
final class CommitGraph: Sendable {
    /// Layers, the base first: positions number the base's commits first.
    private let layers: [CommitGraphLayer]
    let count: Int

    private init(layers: [CommitGraphLayer]) {
        self.layers = layers
        count = layers.last.map { $0.base + $0.count } ?? 0
    }

    /// The graph of the repository whose objects are in `objectsDirectory`, nil if it has none.
    static func load(objectsDirectory: String, repositoryPath: String) -> CommitGraph? {
        guard access(repositoryPath + "/shallow", F_OK) != 0 else { return nil }
        let info = objectsDirectory + "/info"
        let chainDirectory = info + "/commit-graphs"
        // A chain is what git writes with --split; a single file otherwise. Git prefers the
        // single file when both are there.
        if let single = CommitGraphLayer(path: info + "/commit-graph", base: 0, layersBelow: 0) {
            return CommitGraph(layers: [single])
        }
        guard let chain = FileManager.default.contents(atPath: chainDirectory + "/commit-graph-chain"),
              chain.count <= 64 << 10 else { return nil }
        var layers: [CommitGraphLayer] = []
        for line in String(decoding: chain, as: UTF8.self).split(separator: "\n") {
            guard line.count == 40, line.allSatisfy(\.isHexDigit),
                  let layer = CommitGraphLayer(path: "\(chainDirectory)/graph-\(line).graph",
                                               base: layers.last.map { $0.base + $0.count } ?? 0, layersBelow: layers.count)
            else { return nil }
            layers.append(layer)
        }
        return layers.isEmpty ? nil : CommitGraph(layers: layers)
    }

    /// Where `id` is in the graph; nil if the graph does not hold it (a newer commit).
    func position(of id: ObjectID) -> Int? {
        for layer in layers.reversed() {
            if let index = layer.index(of: id) { return layer.base + index }
        }
        return nil
    }

    private func layer(holding position: Int) -> CommitGraphLayer? {
        layers.last { $0.base <= position && position < $0.base + $0.count }
    }

    /// The commit at `position`; nil if the position or its record is damaged.
    func commit(at position: Int) -> GraphCommit? {
        guard let layer = layer(holding: position), let found = layer.commit(at: position - layer.base) else { return nil }
        if let parent = found.firstParent, parent >= count { return nil }
        return GraphCommit(id: found.id, tree: found.tree, firstParent: found.firstParent, time: found.time, position: position)
    }

    /// Whether the commit at `position` may have changed the path `keys` were made for
    /// (against its first parent): false only when its Bloom filter says certainly not.
    func mayHaveChanged(_ keys: BloomKeys, at position: Int) -> Bool {
        guard let layer = layer(holding: position), let settings = layer.bloom,
              let hashes = keys.hashes(for: settings), let filter = layer.bloomFilter(at: position - layer.base) else { return true }
        return hashes.allSatisfy { BloomKeys.contains(filter, $0) }
    }
}

/// A commit as the commit-graph records it.
struct GraphCommit: Sendable {
    let id: ObjectID
    let tree: ObjectID
    let firstParent: Int?
    let time: Int64
    let position: Int
}
