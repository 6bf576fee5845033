import Foundation

/// An ssh URL as git reads it (`ssh://[user@]host[:port]/path`, `git+ssh://`, or scp-like
/// `[user@]host:path`), and the command git would run to reach its `git-upload-pack`:
/// `$GIT_SSH_COMMAND`, else `core.sshCommand`, else `$GIT_SSH`, else `ssh` (OpenSSH's
/// options: the variants git also knows, such as plink, are not spoken here).
struct SSHRemote {
    let host: String
    let port: String?
    let path: String

    init?(_ url: String) {
        if let scheme = ["ssh://", "git+ssh://", "ssh+git://"].first(where: url.hasPrefix) {
            let rest = url.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            var authority = String(rest[..<slash])
            var path = String(rest[slash...])
            if path.hasPrefix("/~") { path.removeFirst() }  // ssh://host/~user/repo: a home folder
            var port: String?
            if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
                port = String(authority[authority.index(after: colon)...])
                authority = String(authority[..<colon])
            }
            guard !authority.isEmpty, port?.allSatisfy(\.isNumber) ?? true else { return nil }
            (host, self.port, self.path) = (authority.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port, path)
        } else if !url.contains("://"), PartialClone.isURL(url), let colon = url.firstIndex(of: ":") {
            (host, port, path) = (String(url[..<colon]), nil, String(url[url.index(after: colon)...]))
        } else {
            return nil
        }
        // A host that starts with a dash would be an option to ssh (git refuses it too).
        guard !host.isEmpty, !host.hasPrefix("-"), !path.isEmpty else { return nil }
    }

    /// The ssh command as a shell command, git's way (`GIT_SSH` names a program, not a command).
    func command(repository: String?) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let command = environment["GIT_SSH_COMMAND"], !command.isEmpty { return command }
        if let repository, let output = try? GitCommand(repository: repository).run(  // none configured: plain ssh
            ["config", "core.sshCommand"], timeout: 10), output.status == 0 {
            let command = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if !command.isEmpty { return command }
        }
        if let program = environment["GIT_SSH"], !program.isEmpty { return Self.quoted(program) }
        return "ssh"
    }

    /// ssh's arguments: v2 asked for, the port, the host, and the remote command with its
    /// path quoted for the remote shell.
    var arguments: [String] {
        ["-o", "SendEnv=GIT_PROTOCOL"] + (port.map { ["-p", $0] } ?? []) + [host, "git-upload-pack \(Self.quoted(path))"]
    }

    /// Single quotes, each quote in the text closed, escaped and reopened (git's `sq_quote`).
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''").replacingOccurrences(of: "!", with: "'\\!'") + "'"
    }
}
