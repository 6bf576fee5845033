import Foundation

/// Sizes of objects asked of a Git server without their content: protocol v2's `object-info`
/// command (gitprotocol-v2(5)), which git's `upload-pack` answers when the server sets
/// `transfer.advertiseObjectInfo`. Git trees carry no sizes, and a partial clone lacks the
/// blobs: this is how a listing shows right sizes without fetching a folder's contents.
/// git 2.39 has no client for it, so this is one, over a path or `file://` URL (`git
/// upload-pack` run here), `git://` (a TCP connection) and `http(s)://` (git's own helper,
/// `git remote-https`, in the `stateless-connect` mode git uses for protocol v2, so that
/// git's credentials, proxies and TLS settings apply) and ssh (the ssh command git would
/// run, asking for v2 as git does: `SendEnv=GIT_PROTOCOL`, which the server's sshd must
/// accept). A server that cannot answer makes `sizes` nil, and callers fetch contents instead.
enum ObjectInfo {
    /// How long one request may take.
    static let timeout: TimeInterval = 30

    /// The sizes of `ids` the server knows (objects it lacks are left out), or nil if its
    /// server does not offer `object-info`.
    static func sizes(of ids: [ObjectID], through transport: Transport) throws -> [ObjectID: Int]? {
        var found: [ObjectID: Int] = [:]
        for start in stride(from: 0, to: ids.count, by: transport.batch) {
            let chunk = Array(ids[start..<min(ids.count, start + transport.batch)])
            guard let answer = try transport.exchange(request(chunk)) else { return nil }
            guard let sizes = parse(answer) else { return nil }
            found.merge(sizes) { $1 }
        }
        return found
    }

    /// `command=object-info`, a delimiter, the `size` attribute and one `oid` line each, a flush.
    static func request(_ ids: [ObjectID]) -> [UInt8] {
        var out = packet("command=object-info\n") + packet("object-format=sha1\n") + Array("0001".utf8) + packet("size\n")
        for id in ids { out += packet("oid \(id.hex)\n") }
        return out + Array("0000".utf8)
    }

    static func packet(_ text: String) -> [UInt8] { packet(Array(text.utf8)) }
    static func packet(_ bytes: [UInt8]) -> [UInt8] { Array(String(format: "%04x", bytes.count + 4).utf8) + bytes }

    /// The server's capability advertisement, then the answer: `size`, then `<oid> <size>` per
    /// object, then a flush. Nil if it does not advertise `object-info` or answers otherwise.
    static func parse(_ data: [UInt8]) -> [ObjectID: Int]? {
        var lines: [[UInt8]?] = []  // nil for a flush
        var i = 0
        while i + 4 <= data.count {
            guard let length = Int(String(decoding: data[i..<(i + 4)], as: UTF8.self), radix: 16) else { return nil }
            if length < 4 {
                lines.append(nil)
                i += 4
                continue
            }
            guard i + length <= data.count else { return nil }
            var line = Array(data[(i + 4)..<(i + length)])
            if line.last == 0x0A { line.removeLast() }
            lines.append(line)
            i += length
        }
        guard let advertisementEnd = lines.firstIndex(where: { $0 == nil }),
              lines[..<advertisementEnd].contains(where: { $0 == Array("object-info".utf8) || $0?.starts(with: Array("object-info=".utf8)) == true }),
              lines.count > advertisementEnd + 1, lines[advertisementEnd + 1] == Array("size".utf8) else { return nil }
        var sizes: [ObjectID: Int] = [:]
        for case let line? in lines[(advertisementEnd + 2)...] {
            let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 2, let id = ObjectID(hexBytes: ArraySlice(parts[0])) else { return nil }
            if let size = Int(String(decoding: parts[1], as: UTF8.self)), size >= 0 { sizes[id] = size }
        }
        return sizes
    }

    enum Scan { case incomplete, flushed, malformed }

    /// Whether the packets of `data` from `start` have come up to a flush packet yet.
    static func scanToFlush(_ data: [UInt8], from start: Int) -> Scan {
        var i = start
        while i + 4 <= data.count {
            guard let length = Int(String(decoding: data[i..<(i + 4)], as: UTF8.self), radix: 16) else { return .malformed }
            if length == 0 { return .flushed }
            i += max(length, 4)
        }
        return .incomplete
    }

    /// Where a request goes.
    enum Transport {
        case local(String)
        case daemon(host: String, port: UInt16, path: String)
        case http(url: String, helper: String, repository: String?)
        case ssh(command: String, arguments: [String])

        /// The way to `url`, nil where none is ours; `repository` is the clone whose
        /// configuration (credentials, `http.*`, `core.sshCommand`) applies.
        init?(_ url: String, repository: String? = nil) {
            if let ssh = SSHRemote(url) {
                self = .ssh(command: ssh.command(repository: repository), arguments: ssh.arguments)
            } else if url.hasPrefix("https://") || url.hasPrefix("http://") {
                self = .http(url: url, helper: url.hasPrefix("https://") ? "remote-https" : "remote-http", repository: repository)
            } else if url.hasPrefix("file://") {
                self = .local(String(url.dropFirst("file://".count)))
            } else if url.hasPrefix("/") {
                self = .local(url)
            } else if url.hasPrefix("git://"), let parsed = URLComponents(string: url), let host = parsed.host, !parsed.path.isEmpty {
                self = .daemon(host: host, port: UInt16(parsed.port ?? 9418), path: parsed.path)
            } else {
                return nil
            }
        }

        /// Names per request: a local request is written whole into a pipe before git starts
        /// (`GitCommand.maxInput`); a connection takes a folder's worth at once.
        var batch: Int {
            switch self {
            case .local, .http, .ssh: return 300
            case .daemon: return 20_000
            }
        }

        /// The whole answer to `request`, or nil if the server could not be asked.
        func exchange(_ request: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .local(let path):
                let output = try GitCommand(repository: nil).run(["upload-pack", "--", path], timeout: ObjectInfo.timeout,
                                                                  input: request, environment: ["GIT_PROTOCOL": "version=2"])
                return output.status == 0 ? Array(output.stdout.utf8) : nil
            case .daemon(let host, let port, let path):
                let hello = ObjectInfo.packet(Array("git-upload-pack \(path)\0host=\(host)\0\0version=2\0".utf8))
                return try TCPExchange.run(host: host, port: port, send: hello + request, timeout: ObjectInfo.timeout)
            case .ssh(let command, let arguments):
                let output = try GitCommand.runShell(command, arguments, timeout: ObjectInfo.timeout, input: request,
                                                     environment: ["GIT_PROTOCOL": "version=2"])
                return output.status == 0 ? Array(output.stdout.utf8) : nil
            case .http(let url, let helper, let repository):
                // The helper answers `stateless-connect` with an empty line and the server's
                // capabilities (or `fallback` for a server without protocol v2), reads one
                // request, posts it, and writes the answer.
                let output = try GitCommand(repository: repository).run(
                    [helper, url, url], timeout: ObjectInfo.timeout, input: Array("stateless-connect git-upload-pack\n".utf8),
                    reply: { said in
                        if said.starts(with: Array("fallback\n".utf8)) { return .close }
                        guard said.first == 0x0A else { return said.contains(0x0A) ? .close : .wait }
                        switch ObjectInfo.scanToFlush(said, from: 1) {
                        case .incomplete: return .wait
                        case .flushed: return .send(request)
                        case .malformed: return .close
                        }
                    })
                guard output.status == 0, output.stdout.first == "\n" else { return nil }
                return Array(output.stdout.utf8.dropFirst())
            }
        }
    }
}
