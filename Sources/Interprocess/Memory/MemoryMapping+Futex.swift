// Futexes on words of a mapping (see `Futex`): the offset and alignment are checked
// like `withAtomic`, and a fault in a shrunk object is reported like any access.

extension MemoryMapping {
    /// `Futex.wait` on the `UInt32` at `offset`: sleeps while it holds `value`, until
    /// woken or `deadline` (nil: none), then the caller re-checks the word;
    /// `ETIMEDOUT` when the deadline passed.
    ///
    /// Use `withAtomic(UInt32.self, at: offset)` for the atomic operations on the
    /// same word. Throws like `withAtomic` (`EINVAL` misaligned, `ERANGE` past the end,
    /// `EACCES` not writable), and `EFAULT` when the object was shrunk under the word.
    ///
    /// ```swift
    /// while try mapping.withAtomic(UInt32.self, at: 0, { $0.load(ordering: .acquiring) }) == 0 {
    ///     try mapping.futexWait(at: 0, expecting: 0, timeout: .seconds(1))
    /// }
    /// ```
    public func futexWait(at offset: Int, expecting value: UInt32, until deadline: Deadline?) throws(IPCError) {
        let word = try futexWord("futexWait", offset)
        do { try Futex.wait(word, expecting: value, until: deadline) } catch { try checkAfterAccess("futexWait"); throw error }
        try checkAfterAccess("futexWait")
    }

    /// `futexWait(at:expecting:until:)` with a deadline `timeout` from now.
    public func futexWait(at offset: Int, expecting value: UInt32, timeout: Duration) throws(IPCError) {
        try futexWait(at: offset, expecting: value, until: .after(timeout))
    }

    /// The async form of `futexWait(at:expecting:until:)` (`Futex.waitAsync(_:expecting:until:)`):
    /// suspends the task while the word holds `value`; throws `CancellationError`
    /// promptly when the task is cancelled.
    public func futexWaitAsync(at offset: Int, expecting value: UInt32, until deadline: Deadline?) async throws {
        let word = try futexWord("futexWait", offset)
        do { try await Futex.waitAsync(word, expecting: value, until: deadline) } catch {
            try checkAfterAccess("futexWait")
            throw error
        }
        try checkAfterAccess("futexWait")
    }

    /// `futexWaitAsync(at:expecting:until:)` with a deadline `timeout` from now.
    public func futexWaitAsync(at offset: Int, expecting value: UInt32, timeout: Duration) async throws {
        try await futexWaitAsync(at: offset, expecting: value, until: .after(timeout))
    }

    /// `Futex.wake` on the `UInt32` at `offset`: wakes at most `count` waiters (in
    /// any process mapping the same object); returns how many were woken.
    @discardableResult
    public func futexWake(at offset: Int, count: Int32 = .max) throws(IPCError) -> Int {
        let word = try futexWord("futexWake", offset)
        return try Futex.wake(word, count: count)
    }

    private func futexWord(_ operation: String, _ offset: Int) throws(IPCError) -> UnsafeMutablePointer<UInt32> {
        if !protection.contains(.readWrite) {
            throw IPCError(.permissionDenied, operation: operation, object: label,
                           detail: "a futex word needs a readable and writable mapping")
        }
        return try typedAddress(operation, UInt32.self, offset: offset, writing: true)
            .assumingMemoryBound(to: UInt32.self)
    }
}
