import Interprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The `InterprocessTestPeer` executable, built beside the test bundle.
enum TestPeer {
    static let path: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var dir = exe
        while let slash = dir.lastIndex(of: "/") {
            dir = String(dir[..<slash])
            let candidate = dir + "/InterprocessTestPeer"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return "InterprocessTestPeer"
    }()

    /// A spawn of the peer running `command` with `arguments`.
    static func spawn(_ command: String, _ arguments: String...) -> Spawn {
        Spawn(path, arguments: [command] + arguments)
    }

    /// Runs the peer to completion with stdout captured; returns (status, stdout).
    static func run(_ spawn: Spawn) throws -> (status: ChildStatus, output: String) {
        let pipe = try Pipe()
        var spawn = spawn
        try spawn.inherit(pipe.writer.descriptor, as: 1)
        var child = try spawn.start()
        try pipe.writer.close()
        let output = try pipe.reader.readToEnd()
        let status = try child.wait()
        return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines))
    }
}

/// The descriptors open in this process.
func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count - 3  // ".", ".." and the directory's own descriptor
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var text = Substring(self)
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

extension Set where Element == Character {
    static let newlines: Set<Character> = ["\n", "\r"]
}
