#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Whether the machine has a processor to spare right now, from the kernel's count of
/// runnable threads (the fourth field of `/proc/loadavg`, "running/total": every thread on a
/// processor or waiting for one, the caller included, machine-wide: a container's quota is not
/// seen). A spinning poll (`PostgresConfiguration.answerSpinGate`) is worth it only then:
/// otherwise it takes a processor from work that is waiting for one, the database server's
/// included. One `pread` of a descriptor kept open, about a microsecond.
public enum RunnableThreads {
    /// `/proc/loadavg`, opened once; -1 where there is none (the check then always says yes).
    private static let descriptor: Int32 = open("/proc/loadavg", O_RDONLY | O_CLOEXEC)
    private static let processors = max(1, System.coreCount)

    /// True when no more threads are runnable than there are processors for this process.
    public static func haveAProcessorToSpare() -> Bool {
        guard descriptor >= 0 else { return true }
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &bytes) { buffer in
            let count = pread(descriptor, buffer.baseAddress, buffer.count, 0)
            guard count > 0, let running = runnable(in: UnsafeRawBufferPointer(rebasing: buffer[..<count])) else {
                return true
            }
            return running <= processors
        }
    }

    /// The runnable count of a `/proc/loadavg` text ("0.52 0.58 0.59 3/512 12345"): the number
    /// before the slash; nil when the text has no such field.
    static func runnable(in text: UnsafeRawBufferPointer) -> Int? {
        guard let slash = text.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        var start = slash
        while start > 0, text[start - 1] &- UInt8(ascii: "0") <= 9 { start -= 1 }
        guard start < slash, slash - start <= 9 else { return nil }
        var value = 0
        for byte in text[start..<slash] { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
        return value
    }
}
