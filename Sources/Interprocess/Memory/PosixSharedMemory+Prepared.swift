import SystemPackage

extension PosixSharedMemory {
    /// Creates the object `name` of `size` bytes complete before it has its name:
    /// `prepare` gets it while it is still an unnamed file in /dev/shm (where
    /// glibc's `shm_open` keeps objects), and only when `prepare` returns is it
    /// linked under the name — `EEXIST` then if the name was taken meanwhile (what
    /// `prepare` made is dropped). So an opener never finds it half-made (of size
    /// 0, say, between `shm_open` and `ftruncate`), and a creator killed halfway
    /// leaves nothing behind. Where /dev/shm cannot hold unnamed files, it falls
    /// back to `create` (`shm_open` with `O_EXCL`, then `ftruncate`), whose
    /// window `prepare`'s caller must then tolerate.
    ///
    /// The corresponding C calls are `open(O_TMPFILE)`, `ftruncate` and `linkat`
    /// (see `UnnamedFile`).
    static func createPrepared<T: ~Copyable>(
        _ name: PosixIPCName, size: Int, permissions: FilePermissions,
        _ prepare: (consuming PosixSharedMemory) throws(IPCError) -> T
    ) throws(IPCError) -> T {
        try name.validate(for: .sharedMemory)
        guard let file = try UnnamedFile.create(in: FilePath(NamedSemaphoreFile.directory), permissions: permissions,
                                                operation: "shm_open") else {
            let memory = try create(name, size: size, permissions: permissions)
            do throws(IPCError) { return try prepare(memory) } catch {
                _ = name.withCString { system_shm_unlink($0) }
                throw error
            }
        }
        let fd = file.rawValue
        let memory = PosixSharedMemory(adopting: file, name: name)
        try memory.resize(to: size)
        let prepared = try prepare(memory)
        let path = NamedSemaphoreFile.path(name, prefix: "").withUnsafeBufferPointer { FilePath(platformString: $0.baseAddress!) }
        if try !UnnamedFile.link(fd, at: path, operation: "shm_open") {
            throw IPCError(.fileExists, operation: "shm_open", object: name.quoted)
        }
        return prepared
    }
}
