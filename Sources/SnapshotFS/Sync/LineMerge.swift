import CGit2

/// A line-by-line three-way merge of text, as `git merge-file` does it (libgit2's xdiff).
enum LineMerge {
    /// Files larger than this are not merged line by line: a conflict copy is kept instead,
    /// so a merge never holds more than a few such files in memory.
    static let maxSize = 8 << 20

    /// Git's test for binary content: a NUL byte in the first 8,000 bytes.
    static func isBinary(_ bytes: [UInt8]) -> Bool { bytes.prefix(8000).contains(0) }

    /// The merged text when the two sides changed different lines of `base`; nil when they
    /// overlap (a conflict) or either side is binary.
    static func merge(base: [UInt8], ours: [UInt8], theirs: [UInt8]) -> [UInt8]? {
        guard !isBinary(base), !isBinary(ours), !isBinary(theirs) else { return nil }
        _ = Libgit2.ready
        return base.withUnsafeBufferPointer { b in
            ours.withUnsafeBufferPointer { o in
                theirs.withUnsafeBufferPointer { t in
                    var ancestor = input(b)
                    var mine = input(o)
                    var other = input(t)
                    var result = git_merge_file_result()
                    guard git_merge_file(&result, &ancestor, &mine, &other, nil) == 0 else { return nil }
                    defer { git_merge_file_result_free(&result) }
                    guard result.automergeable != 0 else { return nil }
                    guard result.len > 0, let ptr = result.ptr else { return [] }
                    return ptr.withMemoryRebound(to: UInt8.self, capacity: result.len) {
                        Array(UnsafeBufferPointer(start: $0, count: result.len))
                    }
                }
            }
        }
    }

    private static func input(_ bytes: UnsafeBufferPointer<UInt8>) -> git_merge_file_input {
        var input = git_merge_file_input()
        git_merge_file_input_init(&input, UInt32(GIT_MERGE_FILE_INPUT_VERSION))
        // An empty buffer still needs a valid pointer; xdiff reads nothing from it.
        input.ptr = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
        input.size = bytes.count
        return input
    }
}
