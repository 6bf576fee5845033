import CGit2
import Foundation

/// A packed blob, read with bounded memory: an entry stored whole is inflated as a stream
/// straight from the pack; a deltified one is rebuilt on disk (its base chain applied one
/// delta at a time between two unlinked temp files in `scratch`) and then read from there.
/// Memory stays at a few buffers whatever the blob's size (libgit2 1.5 would inflate it
/// whole, with its delta bases, into memory: 914 MiB of RSS for a 300 MiB blob).
enum PackStream {
    /// A stream of the blob `id` if a pack holds it; nil when no pack does (the caller then
    /// tries elsewhere). Throws on a damaged pack.
    static func open(_ id: ObjectID, store: Store) throws -> (any BlobStream)? {
        guard let (pack, offset) = store.packs.locate(id) else { return nil }
        let file: PackFile
        do { file = try PackFile(path: pack) } catch SnapshotError.io(ENOENT, _) {
            return nil  // dropped from a partial clone's cache since: read elsewhere, or fetched again
        }
        let entry = try file.entry(at: offset)
        switch entry.kind {
        case .whole(let type):
            guard type == 3 else { throw SnapshotError.isADirectory("\(id) is not a blob") }
            return try Inflater(file: file, at: entry.dataOffset, size: entry.size)
        case .offsetDelta, .refDelta:
            let rebuilt = try rebuild(entry, in: file, store: store)
            return try TempFileStream(rebuilt)
        }
    }

    /// Applies the delta chain under `entry` onto its base, on disk.
    private static func rebuild(_ entry: PackFile.Entry, in file: PackFile, store: Store) throws -> TempFile {
        var chain: [PackFile.Entry] = []
        var current = entry
        var base: TempFile
        while true {
            switch current.kind {
            case .whole:
                base = try TempFile(directory: store.scratchDirectory)
                try base.fill(from: Inflater(file: file, at: current.dataOffset, size: current.size))
            case .offsetDelta(let baseOffset):
                chain.append(current)
                current = try file.entry(at: baseOffset)
                continue
            case .refDelta(let baseID):
                chain.append(current)
                base = try TempFile(directory: store.scratchDirectory)
                guard let stream = try LooseStream(id: baseID, objectsDirectory: store.objectsDirectory)
                        ?? PackStream.open(baseID, store: store) else {
                    throw SnapshotError.git(code: -1, klass: 0, message: "delta base \(baseID) is missing")
                }
                try base.fill(from: stream)
            }
            break
        }
        for delta in chain.reversed() {
            let result = try TempFile(directory: store.scratchDirectory)
            try applyDelta(Inflater(file: file, at: delta.dataOffset, size: delta.size), base: base, into: result)
            base = result
        }
        return base
    }

    /// Git's delta format: the base's size and the result's as varints, then instructions:
    /// copy a range of the base (high bit set) or insert the next 1-127 bytes.
    private static func applyDelta(_ delta: Inflater, base: TempFile, into out: TempFile) throws {
        let input = BufferedReader(delta)
        func varint() throws -> Int {
            var value = 0
            var shift = 0
            while true {
                let byte = try input.byte()
                value |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { return value }
            }
        }
        let corrupt = SnapshotError.git(code: -1, klass: 0, message: "corrupt delta in a pack")
        guard try varint() == base.size else { throw corrupt }
        let expected = try varint()
        let writer = BufferedWriter(out)
        while let command = try input.byteIfAny() {
            if command & 0x80 != 0 {
                var offset = 0
                var length = 0
                for bit in 0..<4 where command & (1 << bit) != 0 { offset |= Int(try input.byte()) << (8 * bit) }
                for bit in 0..<3 where command & (0x10 << bit) != 0 { length |= Int(try input.byte()) << (8 * bit) }
                if length == 0 { length = 0x10000 }
                guard offset + length <= base.size else { throw corrupt }
                try writer.copy(from: base, at: offset, count: length)
            } else if command != 0 {
                try writer.append(try input.bytes(Int(command)))
            } else {
                throw corrupt
            }
        }
        try writer.flush()
        guard out.size == expected else { throw corrupt }
    }
}
