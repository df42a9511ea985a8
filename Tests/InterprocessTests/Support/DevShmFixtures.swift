import Interprocess
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Files another user could put in /dev/shm, made for a test (removed after it by
/// `TestObjects.remove(.devShmFile(FILE))`).
enum DevShmFixture {
    /// Writes `bytes` into `/dev/shm/FILE` (a regular file, mode 0644).
    static func file(_ file: String, _ bytes: [UInt8]) throws {
        let fd = open("/dev/shm/" + file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0, "cannot create /dev/shm/\(file): \(errno)")
        defer { close(fd) }
        try #require(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
    }

    /// Replaces the contents of `/dev/shm/FILE` in place (same inode), as a hostile
    /// process with write access would.
    static func overwrite(_ file: String, _ bytes: [UInt8]) throws {
        let fd = open("/dev/shm/" + file, O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
    }

    static func fifo(_ file: String) throws { try #require(mkfifo("/dev/shm/" + file, 0o644) == 0) }
    static func directory(_ file: String) throws { try #require(mkdir("/dev/shm/" + file, 0o755) == 0) }
    static func socket(_ file: String) throws { try #require(mknod("/dev/shm/" + file, S_IFSOCK | 0o644, 0) == 0) }
    static func symlink(_ file: String, to target: String) throws { try #require(Glibc.symlink(target, "/dev/shm/" + file) == 0) }
}
