import CInterprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one place the process receives the signals its `SignalStream`s watch
/// (SPEC P8): one signalfd and one thread of the library's own (`ipc-signals`)
/// that reads it and hands each signal to every stream watching that number.
///
/// A signal reaches the center by one of two roads:
/// - blocked in every thread (the library's threads block all signals, the
///   runtime's worker threads do too, and `watch` blocks it in the calling thread),
///   it stays pending for the process and the signalfd reads it — in the kernel's
///   order: lower numbers first, realtime signals of one number in the order sent;
/// - taken by a thread that has it unblocked (one the program made), it runs the
///   library's handler, which writes it to a pipe the same thread reads.
/// Either way nothing is lost to another thread.
///
/// After the streams have it, the program's own action for the signal still runs
/// (`cipc_signal_run_program_action`): its handler is called; its default action
/// applies only when no stream watches the number any more (so a SIGTERM nobody
/// watches still ends the process).
///
/// Once watched, a signal stays the library's until the process ends or forks (in
/// the child, `cipc_signals_forget_after_fork` gives every watched signal its
/// action back and unblocks what `watch` blocked in the forking thread).
final class SignalCenter: Sendable {
    /// The process's center, started on first use. In a forked child the signals
    /// go back to the program (see the type), the parent's descriptors are closed,
    /// and a later `watch` starts afresh.
    private static let instance = ProcessSingleton<SignalCenter>(
        make: { () throws(IPCError) in try SignalCenter() },
        forgetInChild: { center in
            cipc_signals_forget_after_fork()
            for fd in [center.signalDescriptor, center.forwardReader, center.forwardWriter] { _ = system_close(fd) }
        })

    static var shared: SignalCenter {
        get throws(IPCError) { try instance.object }
    }

    /// The signalfd: non-blocking, its mask the watched signals.
    private let signalDescriptor: CInt
    /// The pipe the library's handler writes `cipc_signal_record`s to.
    private let forwardReader: CInt, forwardWriter: CInt

    private struct State {
        var watched: Set<CInt> = []
        var subscriptions: [ObjectIdentifier: SignalSubscription] = [:]
    }

    private let state = Mutex(State())

    private init() throws(IPCError) {
        var empty = sigset_t()
        sigemptyset(&empty)
        let signalfd = system_signalfd(-1, &empty, cipc_fd_nonblocking_cloexec)
        guard signalfd >= 0 else { throw IPCError.last("signalfd", detail: "signals cannot be watched") }
        var ends: [CInt] = [-1, -1]
        guard system_pipe2(&ends, CInt(O_NONBLOCK | O_CLOEXEC)) == 0 else {
            let error = IPCError.last("pipe2", detail: "signals cannot be watched")
            _ = system_close(signalfd)
            throw error
        }
        // Room for ~43,000 records from the handler instead of ~2,700 (64 KiB), as
        // far as /proc/sys/fs/pipe-max-size allows; a smaller pipe still works.
        _ = system_fcntl(ends[1], cipc_f_setpipe_sz, 1 << 20)
        signalDescriptor = signalfd
        forwardReader = ends[0]
        forwardWriter = ends[1]
        do {
            try LibraryThread.startDetached(name: "ipc-signals") { [self] in run() }
        } catch {
            for fd in [signalfd, ends[0], ends[1]] { _ = system_close(fd) }
            var failure = error
            failure.detail = "the thread that reads signals could not start"
            throw failure
        }
    }

    /// Starts handing `subscription.signals` to `subscription`: adds the new ones to
    /// the signalfd's mask, installs the library's handler for them, and blocks them
    /// in the calling thread.
    func watch(_ subscription: SignalSubscription) throws(IPCError) {
        let result: Result<Void, IPCError> = state.withSanitizedLock { state in
            let added = subscription.signals.subtracting(state.watched)
            if !added.isEmpty {
                var mask = sigset_t()
                sigemptyset(&mask)
                for signal in state.watched.union(added) { sigaddset(&mask, signal) }
                guard system_signalfd(signalDescriptor, &mask, 0) >= 0 else {
                    return .failure(IPCError.last("signalfd", detail: "adding \(added.sorted().map(Signals.name(of:)).joined(separator: ", "))"))
                }
                for signal in added.sorted() {
                    guard system_signal_watch(signal, forwardWriter) == 0 else {
                        return .failure(IPCError.last("sigaction", object: Signals.name(of: signal)))
                    }
                    state.watched.insert(signal)
                }
            }
            state.subscriptions[ObjectIdentifier(subscription)] = subscription
            return .success(())
        }
        try result.get()
        for signal in subscription.signals.sorted() {
            let rc = system_signal_block_in_this_thread(signal)
            if rc != 0 { throw IPCError(Errno(rawValue: rc), operation: "pthread_sigmask", object: Signals.name(of: signal)) }
        }
        nudge()
    }

    /// Puts the library's handler back first for `signals` where the program (or
    /// another library: Dispatch's signal sources install a handler) installed one
    /// after the stream was made; that one is then called after the streams have
    /// the signal. Without it a thread with the signal unblocked would run only the
    /// newer handler, and the streams would miss that signal. Failures (none are
    /// expected: the numbers were checked) leave the action as it is.
    func keepHandlersFirst(for signals: Set<CInt>) {
        for signal in signals { _ = system_signal_keep_first(signal) }
    }

    /// Stops handing signals to `subscription`.
    func unwatch(_ subscription: SignalSubscription) {
        state.withSanitizedLock { _ = $0.subscriptions.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Wakes the reader, so a signal already pending when its number was added to
    /// the signalfd's mask is read now (a change of mask does not wake a `ppoll`).
    private func nudge() {
        var record = cipc_signal_record()
        _ = withUnsafeBytes(of: &record) { system_write(forwardWriter, $0.baseAddress, $0.count) }
    }

    private func run() {
        var entries = [
            pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: forwardReader, events: Int16(POLLIN), revents: 0),
        ]
        let infoSize = 128  // sizeof(struct signalfd_siginfo)
        let recordSize = MemoryLayout<cipc_signal_record>.stride
        var buffer = [UInt8](repeating: 0, count: 32 * infoSize)
        while true {
            if system_ppoll(&entries, entries.count, nil) < 0 { continue }  // EINTR
            var records: [cipc_signal_record] = []
            buffer.withUnsafeMutableBytes { raw in
                while true {
                    let count = system_read(signalDescriptor, raw.baseAddress, raw.count)
                    if count < infoSize { break }
                    for offset in stride(from: 0, to: count - infoSize + 1, by: infoSize) {
                        var record = cipc_signal_record()
                        cipc_signal_record_from_signalfd(raw.baseAddress! + offset, &record)
                        records.append(record)
                    }
                }
                while true {
                    let count = system_read(forwardReader, raw.baseAddress, raw.count - raw.count % recordSize)
                    if count < recordSize { break }
                    for offset in stride(from: 0, to: count - recordSize + 1, by: recordSize) {
                        let record = raw.loadUnaligned(fromByteOffset: offset, as: cipc_signal_record.self)
                        if record.signal != 0 { records.append(record) }
                    }
                }
            }
            for record in records { deliver(record) }
        }
    }

    /// Hands one signal to every stream watching its number, then runs the
    /// program's own action for it.
    private func deliver(_ record: cipc_signal_record) {
        let signal = ReceivedSignal(
            signal: record.signal, code: record.code, senderPID: record.pid, senderUID: record.uid,
            value: ReceivedSignal.carriesValue(record.code) ? record.value : nil)
        let watchers = state.withSanitizedLock { state in
            state.subscriptions.values.filter { $0.signals.contains(record.signal) }
        }
        for watcher in watchers { watcher.deliver(signal) }
        var record = record
        cipc_signal_run_program_action(&record, watchers.isEmpty ? 0 : 1)
    }
}
