import Foundation

/// Who made a commit and when.
public struct Signature: Sendable, Equatable {
    /// As written in the commit (`vost` by default).
    public var name: String
    /// As written in the commit (`vost@localhost` by default).
    public var email: String
    /// When; Git stores whole seconds, so a commit read back has no fraction.
    public var time: Date
    /// Minutes east of UTC, as Git records it.
    public var offsetMinutes: Int

    /// A signature; `offsetMinutes` is the zone Git records beside the time (UTC by default).
    public init(name: String, email: String, time: Date = Date(), offsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    /// `Name <email> 1700000000 +0000`, with the characters Git forbids in an identity removed.
    var gitLine: String {
        func clean(_ s: String) -> String { s.filter { $0 != "<" && $0 != ">" && $0 != "\n" && $0 != "\0" } }
        let sign = offsetMinutes < 0 ? "-" : "+"
        let zone = String(format: "%@%02d%02d", sign, abs(offsetMinutes) / 60, abs(offsetMinutes) % 60)
        return "\(clean(name)) <\(clean(email))> \(Int64(time.timeIntervalSince1970.rounded(.down))) \(zone)"
    }

    /// Parses the value of an `author`/`committer` header (`Name <email> 1700000000 +0100`),
    /// leniently, as old repositories need; on bytes, since history walks parse thousands.
    init(parsing line: ArraySlice<UInt8>) {
        guard let open = line.firstIndex(of: 0x3C), let close = line[open...].firstIndex(of: 0x3E) else {
            self.init(name: String(decoding: line, as: UTF8.self), email: "", time: Date(timeIntervalSince1970: 0))
            return
        }
        var nameEnd = open
        while nameEnd > line.startIndex, line[nameEnd - 1] == 0x20 { nameEnd -= 1 }
        let name = String(decoding: line[line.startIndex..<nameEnd], as: UTF8.self)
        let email = String(decoding: line[(open + 1)..<close], as: UTF8.self)
        var i = close + 1
        func number() -> (Int64, Bool)? {
            while i < line.endIndex, line[i] == 0x20 { i += 1 }
            var negative = false
            if i < line.endIndex, line[i] == 0x2D || line[i] == 0x2B { negative = line[i] == 0x2D; i += 1 }
            var value: Int64 = 0
            var digits = 0
            while i < line.endIndex, line[i] >= 0x30, line[i] <= 0x39, digits < 18 {
                value = value * 10 + Int64(line[i] - 0x30)
                i += 1
                digits += 1
            }
            return digits > 0 ? (value, negative) : nil
        }
        let seconds = number()?.0 ?? 0
        var offset = 0
        if let (zone, negative) = number() {
            offset = Int(zone / 100 * 60 + zone % 100) * (negative ? -1 : 1)
        }
        self.init(name: name, email: email, time: Date(timeIntervalSince1970: TimeInterval(seconds)), offsetMinutes: offset)
    }
}

/// A parsed commit object; immutable and shared like `Tree`.
public struct Commit: Sendable, Equatable {
    /// The commit's object name.
    public let id: ObjectID
    /// The root tree.
    public let tree: ObjectID
    /// First parent first: history walks (`back`, `log`, `~N`) follow it.
    public let parents: [ObjectID]
    /// Who wrote the change.
    public let author: Signature
    /// Who committed it; its time is the snapshot's `time`.
    public let committer: Signature
    /// The message as stored, with its trailing newline (`Snapshot.message` drops it).
    public let message: String

    /// Bytes this commit holds beyond its inline fields, roughly: its strings and parents.
    var memoryCost: Int {
        128 + message.utf8.count + author.name.utf8.count + author.email.utf8.count
            + committer.name.utf8.count + committer.email.utf8.count + parents.count * 20
    }

    /// Reads Git's commit format: header lines (continuations start with a space), a blank
    /// line, then the message. Unknown headers (`gpgsig`, `mergetag`, `encoding`) are skipped.
    static func parse(_ data: [UInt8], id: ObjectID) throws -> Commit {
        var tree: ObjectID?
        var parents: [ObjectID] = []
        var author = Signature(name: "", email: "", time: Date(timeIntervalSince1970: 0))
        var committer = author
        let bodyStart = scanHeaders(data) { header, value in
            switch header {
            case .tree: tree = ObjectID(hexBytes: value.prefix(40))
            case .parent: if let parent = ObjectID(hexBytes: value.prefix(40)) { parents.append(parent) }
            case .author: author = Signature(parsing: value)
            case .committer: committer = Signature(parsing: value)
            }
            return true
        }
        guard let tree else { throw SnapshotError.git(code: -1, klass: 0, message: "corrupt commit \(id)") }
        let message = bodyStart < data.count ? String(decoding: data[bodyStart...], as: UTF8.self) : ""
        return Commit(id: id, tree: tree, parents: parents, author: author, committer: committer, message: message)
    }

    enum Header { case tree, parent, author, committer }

    /// Calls `body` with each header line the engine reads (its value after the key), in order,
    /// until `body` answers false; returns where the message starts. Works on bytes and makes
    /// nothing of what it skips: history walks parse thousands of commits, and per-line
    /// Strings were most of their cost. Unknown headers (`gpgsig`, `mergetag`) are skipped.
    @discardableResult
    static func scanHeaders(_ data: [UInt8], _ body: (Header, ArraySlice<UInt8>) -> Bool) -> Int {
        let n = data.count
        var i = 0
        func starts(_ key: StaticString, at i: Int) -> Bool {
            let count = key.utf8CodeUnitCount
            guard i + count <= n else { return false }
            return key.withUTF8Buffer { k in (0..<count).allSatisfy { data[i + $0] == k[$0] } }
        }
        while i < n, data[i] != 0x0A {
            var end = i
            while end < n, data[end] != 0x0A { end += 1 }
            var go = true
            if starts("tree ", at: i), end - i >= 45 {
                go = body(.tree, data[(i + 5)..<end])
            } else if starts("parent ", at: i), end - i >= 47 {
                go = body(.parent, data[(i + 7)..<end])
            } else if starts("author ", at: i) {
                go = body(.author, data[(i + 7)..<end])
            } else if starts("committer ", at: i) {
                go = body(.committer, data[(i + 10)..<end])
            }
            if !go { return end + 1 }
            i = end + 1
        }
        return i + 1
    }

    /// The object text for a new commit; the message always ends in a newline, as Git's do.
    static func serialize(tree: ObjectID, parents: [ObjectID], author: Signature, committer: Signature,
                          message: String) -> [UInt8] {
        var text = "tree \(tree.hex)\n"
        for parent in parents { text += "parent \(parent.hex)\n" }
        text += "author \(author.gitLine)\ncommitter \(committer.gitLine)\n\n"
        text += message.hasSuffix("\n") ? message : message + "\n"
        return Array(text.utf8)
    }
}
