import Foundation

/// Who made a commit and when.
public struct Signature: Sendable, Equatable {
    public var name: String
    public var email: String
    public var time: Date
    /// Minutes east of UTC, as Git records it.
    public var offsetMinutes: Int

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

    /// Parses the value of an `author`/`committer` header; lenient, as old repositories are.
    init(parsing line: Substring) {
        guard let open = line.firstIndex(of: "<"), let close = line[open...].firstIndex(of: ">") else {
            self.init(name: String(line), email: "", time: Date(timeIntervalSince1970: 0))
            return
        }
        let name = line[..<open].trimmingCharacters(in: .whitespaces)
        let email = String(line[line.index(after: open)..<close])
        let rest = line[line.index(after: close)...].split(separator: " ")
        let seconds = rest.first.flatMap { Int64($0) } ?? 0
        var offset = 0
        if rest.count > 1, let zone = Int(rest[1].dropFirst()) {
            offset = (zone / 100 * 60 + zone % 100) * (rest[1].hasPrefix("-") ? -1 : 1)
        }
        self.init(name: name, email: email, time: Date(timeIntervalSince1970: TimeInterval(seconds)), offsetMinutes: offset)
    }
}

/// A parsed commit object; immutable and shared like `Tree`.
public struct Commit: Sendable, Equatable {
    public let id: ObjectID
    public let tree: ObjectID
    public let parents: [ObjectID]
    public let author: Signature
    public let committer: Signature
    public let message: String

    /// Reads Git's commit format: header lines (continuations start with a space), a blank
    /// line, then the message. Unknown headers (`gpgsig`, `mergetag`, `encoding`) are skipped.
    static func parse(_ data: [UInt8], id: ObjectID) throws -> Commit {
        var tree: ObjectID?
        var parents: [ObjectID] = []
        var author = Signature(name: "", email: "", time: Date(timeIntervalSince1970: 0))
        var committer = author
        var i = 0
        let n = data.count
        while i < n, data[i] != 0x0A {
            var end = i
            while end < n, data[end] != 0x0A { end += 1 }
            let line = String(decoding: data[i..<end], as: UTF8.self)
            if let space = line.firstIndex(of: " "), !line.hasPrefix(" ") {
                let key = line[..<space]
                let value = line[line.index(after: space)...]
                switch key {
                case "tree": tree = ObjectID(hex: value)
                case "parent": if let p = ObjectID(hex: value) { parents.append(p) }
                case "author": author = Signature(parsing: value)
                case "committer": committer = Signature(parsing: value)
                default: break
                }
            }
            i = end + 1
        }
        guard let tree else { throw SnapshotError.git(code: -1, klass: 0, message: "corrupt commit \(id)") }
        let message = i < n ? String(decoding: data[(i + 1)...], as: UTF8.self) : ""
        return Commit(id: id, tree: tree, parents: parents, author: author, committer: committer, message: message)
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
