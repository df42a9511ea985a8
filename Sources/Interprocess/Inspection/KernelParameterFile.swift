#if canImport(Glibc)
import Glibc
#endif

/// A kernel parameter under `/proc/sys`, read as the whitespace-separated unsigned
/// numbers it holds (`kernel.sem` holds four, most hold one).
struct KernelParameterFile {
    let path: String

    /// The numbers in the file, or why they could not be read: a missing file (an
    /// older kernel, a container without /proc) is a reason, never a crash.
    func read() -> Result<[UInt64], KernelParameterUnavailable> {
        let fd = system_open(path, O_RDONLY | O_CLOEXEC, 0)
        if fd < 0 { return .failure(KernelParameterUnavailable(reason: IPCError.last("open", object: IPCError.describe(path: path)).description)) }
        let file = OwnedDescriptor(adoptingRaw: fd)
        let text: [UInt8]
        do { text = try file.read(upTo: 4096) } catch {
            return .failure(KernelParameterUnavailable(reason: error.description))
        }
        var numbers: [UInt64] = []
        for word in text.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A }) {
            guard let value = UInt64(String(decoding: word, as: UTF8.self)) else {
                return .failure(KernelParameterUnavailable(reason: "\(path) holds \"\(String(decoding: text, as: UTF8.self))\", not numbers"))
            }
            numbers.append(value)
        }
        return .success(numbers)
    }
}

struct KernelParameterUnavailable: Error {
    let reason: String
}
