import Foundation

/// Checks made before mounting, so that a bad argument is one clear line and nothing is
/// left mounted.
enum Preflight {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A non-empty directory is refused unless `allowNonEmpty` (`-o nonempty`, as FUSE 2 had
    /// it): mounting over files hides them, which nobody should do by accident.
    static func checkMountpoint(_ path: String, allowNonEmpty: Bool = false) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Failure(errno == ENOENT ? "mount point \(path) does not exist" : "cannot reach mount point \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Failure("mount point \(path) is not a directory") }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        if let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 4, unescape(String(fields[4])) == absolute {
                    throw Failure("mount point \(path) is busy: something is already mounted there")
                }
            }
        }
        if !allowNonEmpty, let names = try? FileManager.default.contentsOfDirectory(atPath: path), !names.isEmpty {
            throw Failure("mount point \(path) is not empty (its files would be hidden; -o nonempty mounts anyway)")
        }
    }

    /// libfuse opens /dev/fuse itself before it falls back to fusermount3, so the user must
    /// be able to open it: Debian's fuse3 makes it mode 0666.
    static func checkFuseDevice() throws {
        var info = stat()
        guard stat("/dev/fuse", &info) == 0, info.st_mode & S_IFMT == S_IFCHR else {
            throw Failure("/dev/fuse is missing (load the fuse module: modprobe fuse; install fuse3)")
        }
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            throw Failure("/dev/fuse is not usable by this user: \(String(cString: strerror(errno))) (it is normally mode 0666)")
        }
    }

    static func closeInheritedDescriptors() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in names.compactMap(Int32.init) where fd > 2 { close(fd) }
    }

    /// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
    private static func unescape(_ field: String) -> String {
        var bytes = Array(field.utf8)[...]
        var out: [UInt8] = []
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "\\"), bytes.count >= 3,
               let code = UInt8(String(decoding: bytes.prefix(3), as: UTF8.self), radix: 8) {
                out.append(code)
                bytes = bytes.dropFirst(3)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
