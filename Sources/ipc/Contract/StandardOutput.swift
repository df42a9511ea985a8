import CIPCTool
import Interprocess
import SystemPackage

/// Flushes what `print` buffered on stdout and reports whether any write to it
/// failed (a full disk, `/dev/full`, a closed pipe): a command whose output was
/// lost must not exit 0. `ipc` calls it when every command ends; a command that
/// prints as it goes (`mq watch`) can call it after each line.
///
/// The errno is the first failed write's (`cipc_keep_stdout_errors`, set up when
/// `ipc` starts): `ENOSPC` for a full disk, `EPIPE` for a closed pipe.
///
/// The corresponding C functions are `fflush` and `ferror` (`cipc_flush_stdout`).
func flushStandardOutput() throws(IPCError) {
    let code = cipc_flush_stdout()
    if code > 0 { throw IPCError(Errno(rawValue: code), operation: "write", object: "stdout") }
    if code < 0 {
        throw IPCError(.ioError, operation: "write", object: "stdout", detail: "an earlier write failed, so output was lost")
    }
}
