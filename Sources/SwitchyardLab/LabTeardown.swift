import Dispatch
import Foundation
import Glibc

/// A lab's teardown, run exactly once: on the normal path (`run()`), or when SIGINT or SIGTERM
/// arrives while it is armed, and then the process exits.
///
/// Removing a lab spawns `ip netns delete`, allocates and takes locks: none of that is allowed
/// in a signal handler (signal-safety(7)). So no handler of ours runs at signal time: a dispatch
/// signal source receives the signal (libdispatch reads it from a signalfd) and the teardown
/// runs on a dispatch queue, in normal context. If the main thread is tearing down at that
/// moment, the signal path waits for it to finish rather than racing it.
public final class LabTeardown: @unchecked Sendable {
    private let lock = NSLock()
    /// nil once run or disarmed.
    private var teardown: (@Sendable () -> Void)?
    private let exit: @Sendable (Int32) -> Void
    private let token: SignalWatch.Token

    /// `exit` runs after a signal's teardown; the default ends the process as the shell expects
    /// (128 + the signal number). `_exit`, not `exit`: the main thread may still be running.
    public init(
        signals: [Int32] = [SIGINT, SIGTERM], exit: @escaping @Sendable (Int32) -> Void = { _exit(128 + $0) },
        _ teardown: @escaping @Sendable () -> Void
    ) {
        self.teardown = teardown
        self.exit = exit
        token = SignalWatch.shared.reserveToken()
        SignalWatch.shared.watch(signals, token: token) { [weak self] signal in self?.interrupted(by: signal) }
    }

    deinit { SignalWatch.shared.unwatch(token) }

    /// Tears down now unless already done, and stops listening for signals.
    public func run() {
        SignalWatch.shared.unwatch(token)
        runOnce()
    }

    /// Keeps what was built (`lab up` succeeded) and stops listening for signals.
    public func disarm() {
        SignalWatch.shared.unwatch(token)
        lock.withLock { teardown = nil }
    }

    private func runOnce() {
        lock.withLock {
            teardown?()
            teardown = nil
        }
    }

    private func interrupted(by signal: Int32) {
        runOnce()
        exit(signal)
    }
}

/// The process's dispatch signal sources, one per signal, made once and kept: libdispatch
/// installs its own disposition the first time a signal gets a source and never again, so
/// sources must not be cancelled and remade. Handlers come and go; a signal with none ends the
/// process as its default action would.
final class SignalWatch: @unchecked Sendable {
    typealias Token = UInt64
    static let shared = SignalWatch()

    private let lock = NSLock()
    private let queue = DispatchQueue(label: "switchyard.lab.signals")
    private var sources: [Int32: any DispatchSourceSignal] = [:]
    private var handlers: [Token: (signals: Set<Int32>, handler: @Sendable (Int32) -> Void)] = [:]
    private var nextToken: Token = 0

    func reserveToken() -> Token {
        lock.withLock {
            nextToken += 1
            return nextToken
        }
    }

    func watch(_ signals: [Int32], token: Token, handler: @escaping @Sendable (Int32) -> Void) {
        lock.withLock {
            handlers[token] = (Set(signals), handler)
            for signal in signals where sources[signal] == nil {
                // Until the source is registered, the signal must not take its default action.
                Glibc.signal(signal, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
                source.setEventHandler { [unowned self] in self.deliver(signal) }
                source.resume()
                sources[signal] = source
            }
        }
    }

    func unwatch(_ token: Token) {
        _ = lock.withLock { handlers.removeValue(forKey: token) }
    }

    /// On `queue`, in normal context.
    private func deliver(_ signal: Int32) {
        let waiting = lock.withLock { handlers.values.filter { $0.signals.contains(signal) }.map(\.handler) }
        guard !waiting.isEmpty else { _exit(128 + signal) }
        for handler in waiting { handler(signal) }
    }
}
