import Foundation
import Glibc
import Synchronization
import Testing

@testable import SwitchyardLab

/// The lab's Ctrl-C path, with SIGUSR2 standing in for SIGINT (a test must not interrupt its
/// own runner) and an exit that records instead of ending the process.
@Suite(.serialized)
struct LabTeardownTests {
    final class Record: Sendable {
        let teardowns = Atomic<Int>(0)
        let exits = Mutex<[Int32]>([])
    }

    @Test func signalTearsDownOnceThenExits() throws {
        let record = Record()
        let exit: @Sendable (Int32) -> Void = { signal in record.exits.withLock { $0.append(signal) } }
        let teardown = LabTeardown(signals: [SIGUSR2], exit: exit) { record.teardowns.add(1, ordering: .relaxed) }
        // The dispatch source registers asynchronously: signal until it has answered.
        for _ in 0..<100 where record.exits.withLock({ $0.isEmpty }) {
            kill(getpid(), SIGUSR2)
            usleep(50_000)
        }
        #expect(record.exits.withLock { $0.first } == SIGUSR2)
        #expect(record.teardowns.load(ordering: .relaxed) == 1)
        // Later signals and the normal path find the work done.
        kill(getpid(), SIGUSR2)
        usleep(100_000)
        teardown.run()
        #expect(record.teardowns.load(ordering: .relaxed) == 1)
    }

    @Test func normalPathTearsDownOnceAndDisarmKeepsTheLab() {
        let record = Record()
        let teardown = LabTeardown(signals: [SIGUSR2], exit: { _ in }) { record.teardowns.add(1, ordering: .relaxed) }
        teardown.run()
        teardown.run()
        #expect(record.teardowns.load(ordering: .relaxed) == 1)

        let kept = Record()
        let up = LabTeardown(signals: [SIGUSR2], exit: { _ in }) { kept.teardowns.add(1, ordering: .relaxed) }
        up.disarm()
        up.run()
        #expect(kept.teardowns.load(ordering: .relaxed) == 0)
    }
}
