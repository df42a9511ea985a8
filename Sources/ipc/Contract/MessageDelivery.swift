import ArgumentParser
import Interprocess

#if canImport(Glibc)
import Glibc
#endif

/// Writes the output of a message that was just received (and so taken off its
/// queue) to stdout. When the write fails (a full disk, a closed pipe), the
/// message is not silently lost: `putBack` sends it again without waiting, and the
/// command fails with exit status 1 saying so ("…; the message was put back on /q
/// (at the end of its priority)"), or saying that it is lost when it could not be
/// put back (the queue filled up again, or this user may not send to it).
///
/// `SIGPIPE` is ignored first, so a closed pipe is an `EPIPE` error to report
/// rather than the end of the process, message and all.
func deliverReceivedMessage(
    _ output: [UInt8], takenFrom queue: String, putBackAt place: String, putBack: () throws(IPCError) -> Bool
) throws {
    signal(SIGPIPE, SIG_IGN)
    do throws(IPCError) {
        try writeStandardOutput(output)
    } catch {
        let outcome: String
        do throws(IPCError) {
            outcome = try putBack()
                ? "the message was put back on \(queue) (\(place))"
                : "the message was taken off \(queue) and is lost: the queue is full, so it could not be put back"
        } catch let putBackError {
            outcome = "the message was taken off \(queue) and is lost: putting it back failed: \(putBackError)"
        }
        throw fail("\(error); \(outcome)", .failed)
    }
}
