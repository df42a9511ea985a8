import CInterprocess

#if canImport(Glibc)
import Glibc
#endif

// Adapters for the POSIX message queue calls (see Syscalls.swift for the pattern):
// one per C function, the raw result returned and `errno` left set.

// MARK: POSIX message queues

// mq_send and mq_receive take non-null pointers even for zero bytes; an empty
// Swift buffer has none, so it stands in.
private nonisolated(unsafe) let emptyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
private var emptyMessage: UnsafeRawPointer { UnsafeRawPointer(emptyBuffer) }

func system_mq_open(_ name: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t, _ attributes: UnsafePointer<mq_attr>?) -> mqd_t {
    adapter("mq_open", failure: -1) { cipc_mq_open(name, flags, mode, attributes) }
}

func system_mq_close(_ queue: mqd_t) -> CInt {
    adapter("mq_close", on: Int(queue), failure: -1) { mq_close(queue) }
}

func system_mq_unlink(_ name: UnsafePointer<CChar>) -> CInt {
    adapter("mq_unlink", failure: -1) { mq_unlink(name) }
}

@inline(__always)
func system_mq_send(_ queue: mqd_t, _ message: UnsafeRawPointer?, _ count: Int, _ priority: CUnsignedInt) -> CInt {
    adapter("mq_send", on: Int(queue), failure: -1) { mq_send(queue, (message ?? emptyMessage).assumingMemoryBound(to: CChar.self), count, priority) }
}

@inline(__always)
func system_mq_receive(_ queue: mqd_t, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ priority: UnsafeMutablePointer<CUnsignedInt>?) -> Int {
    adapter("mq_receive", on: Int(queue), failure: -1) { mq_receive(queue, (buffer ?? emptyBuffer).assumingMemoryBound(to: CChar.self), count, priority) }
}

func system_mq_timedsend(_ queue: mqd_t, _ message: UnsafeRawPointer?, _ count: Int, _ priority: CUnsignedInt, _ absoluteTime: UnsafePointer<timespec>) -> CInt {
    adapter("mq_timedsend", on: Int(queue), failure: -1) { mq_timedsend(queue, (message ?? emptyMessage).assumingMemoryBound(to: CChar.self), count, priority, absoluteTime) }
}

func system_mq_timedreceive(_ queue: mqd_t, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ priority: UnsafeMutablePointer<CUnsignedInt>?, _ absoluteTime: UnsafePointer<timespec>) -> Int {
    adapter("mq_timedreceive", on: Int(queue), failure: -1) { mq_timedreceive(queue, (buffer ?? emptyBuffer).assumingMemoryBound(to: CChar.self), count, priority, absoluteTime) }
}

func system_mq_getattr(_ queue: mqd_t, _ attributes: UnsafeMutablePointer<mq_attr>) -> CInt {
    adapter("mq_getattr", on: Int(queue), failure: -1) { mq_getattr(queue, attributes) }
}

func system_mq_setattr(_ queue: mqd_t, _ attributes: UnsafePointer<mq_attr>, _ previous: UnsafeMutablePointer<mq_attr>?) -> CInt {
    adapter("mq_setattr", on: Int(queue), failure: -1) { mq_setattr(queue, attributes, previous) }
}

func system_mq_notify_signal(_ queue: mqd_t, _ signal: CInt, _ value: CInt) -> CInt {
    adapter("mq_notify", on: Int(queue), failure: -1) { cipc_mq_notify_signal(queue, signal, value) }
}

func system_mq_notify_thread(_ queue: mqd_t, _ callback: cipc_mq_notify_callback, _ token: UInt64) -> CInt {
    adapter("mq_notify", on: Int(queue), failure: -1) { cipc_mq_notify_thread(queue, callback, token) }
}

func system_mq_notify_remove(_ queue: mqd_t) -> CInt {
    adapter("mq_notify", on: Int(queue), failure: -1) { cipc_mq_notify_remove(queue) }
}
