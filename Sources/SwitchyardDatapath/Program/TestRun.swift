import CLibbpf
import Glibc

/// BPF_PROG_TEST_RUN: the kernel runs a program on a buffer we give it.
public enum TestRun {
    public struct Result: Sendable {
        public var action: UInt32
        public var output: [UInt8]
        /// Kernel-measured ns per run.
        public var durationNs: UInt32
    }

    public static let xdpAborted: UInt32 = 0, xdpDrop: UInt32 = 1, xdpPass: UInt32 = 2, xdpTX: UInt32 = 3

    public static func run(program fd: Int32, frame: [UInt8], repeat count: UInt32 = 1) throws -> Result {
        var output = [UInt8](repeating: 0, count: frame.count + 512)
        var opts = bpf_test_run_opts()
        opts.sz = LibbpfOpts.testRun
        opts.repeat = Int32(count)
        let rc = frame.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                opts.data_in = input.baseAddress
                opts.data_size_in = UInt32(input.count)
                opts.data_out = out.baseAddress
                opts.data_size_out = UInt32(out.count)
                return bpf_prog_test_run_opts(fd, &opts)
            }
        }
        try BPFError.check(rc, "BPF_PROG_TEST_RUN")
        return Result(
            action: opts.retval, output: Array(output.prefix(Int(opts.data_size_out))), durationNs: opts.duration)
    }
}
