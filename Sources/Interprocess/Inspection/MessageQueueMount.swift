import CInterprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Where the POSIX message queues can be read as files (SPEC L2).
///
/// Linux shows the queues of an IPC namespace only as files of an `mqueue`
/// filesystem. When one is mounted (by convention on /dev/mqueue) it is read
/// there. When none is, a privileged process (CAP_SYS_ADMIN) mounts one where
/// nobody else sees it: a thread of its own leaves the process's mount namespace
/// (`unshare(CLONE_NEWNS | CLONE_FS)`: a mount namespace travels with the
/// thread's filesystem information, so one thread can have its own without
/// touching the others), makes every mount private so nothing propagates back,
/// mounts `mqueue` on a new directory in /tmp, reads it, unmounts it, removes the
/// directory and exits, taking the namespace with it. Other processes and the
/// process's other threads never see the mount. Without the privilege the kind is
/// reported as not listable, with the reason.
enum MessageQueueMount {
    /// The mount point of an mqueue filesystem in this process's mount namespace,
    /// from /proc/self/mountinfo (field 5 is the mount point, the field after
    /// "-" the filesystem type; spaces in paths are written as \040).
    static func mounted() -> String? {
        guard let text = try? InventoryText.read("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields.count > 4,
                  fields[dash + 1] == "mqueue" else { continue }
            return unescape(fields[4])
        }
        return nil
    }

    /// Runs `body` with the path of an mqueue filesystem: the mounted one, or a
    /// private mount on a thread of its own (see the type's documentation). The
    /// error says why neither was possible.
    static func withQueueDirectory<T: Sendable>(_ body: @escaping @Sendable (String) throws(IPCError) -> T) throws(IPCError) -> T {
        if let path = mounted() { return try body(path) }
        return try onPrivateMountThread(body)
    }

    /// Mounts mqueue privately on a new thread and runs `body` there.
    private static func onPrivateMountThread<T: Sendable>(_ body: @escaping @Sendable (String) throws(IPCError) -> T) throws(IPCError) -> T {
        let box = ResultBox<T>()
        let thread = try LibraryThread.start(name: "ipc-mqueue-list") {
            box.result = privatelyMounted(body)
        }
        LibraryThread.join(thread)
        return try box.result!.get()
    }

    /// The steps on the dedicated thread. Every step that fails ends the thread
    /// with the error; whatever was done is undone first.
    private static func privatelyMounted<T>(_ body: (String) throws(IPCError) -> T) -> Result<T, IPCError> {
        if system_unshare(cipc_clone_newns_fs()) != 0 {
            return .failure(.last("unshare", object: "CLONE_NEWNS", detail: notListable))
        }
        if system_mount(nil, "/", nil, cipc_ms_rec_private(), nil) != 0 {
            return .failure(.last("mount", object: "\"/\" MS_PRIVATE", detail: notListable))
        }
        var template = Array("/tmp/ipc-mqueue-XXXXXX".utf8CString)
        guard system_mkdtemp(&template) != nil else {
            return .failure(.last("mkdtemp", object: "\"/tmp/ipc-mqueue-XXXXXX\""))
        }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { _ = system_rmdir(directory) }
        if system_mount("mqueue", directory, "mqueue", cipc_ms_nosuid_nodev_noexec(), nil) != 0 {
            return .failure(.last("mount", object: "mqueue on \(IPCError.describe(path: directory))", detail: notListable))
        }
        defer {
            if system_umount2(directory, 0) != 0 { _ = system_umount2(directory, cipc_mnt_detach()) }
        }
        do throws(IPCError) { return .success(try body(directory)) } catch { return .failure(error) }
    }

    static let notListable = "POSIX message queues are listed from an mqueue filesystem; none is mounted (mount -t mqueue none /dev/mqueue) and mounting one privately needs CAP_SYS_ADMIN"

    private static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let code = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(code)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The result handed from the listing thread back to its joiner; `pthread_join`
/// orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, IPCError>?
}
