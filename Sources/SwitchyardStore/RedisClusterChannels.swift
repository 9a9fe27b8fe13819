import SwitchyardCore

/// The sharded pub/sub channels flow announcements travel on in a cluster: `parts` channels,
/// the i-th hashing to a slot in the i-th of `parts` equal parts of the slot space. A flow is
/// announced on the channel of its key's part, so the SPUBLISH usually goes to the primary that
/// takes the key's SET, in the same pipeline, and the announcements spread over every shard as
/// the keys do.
///
/// Names are `sy:flows:{<n>}`, n the smallest number whose slot falls in the part: a pure
/// function of `parts`, so every node (and every version) derives the same channels. They stay
/// under the `sy:` prefix a minimal ACL grants (`&sy:*`).
public struct RedisClusterChannels: Sendable, Equatable {
    public static let defaultParts = 64

    /// Per part, its channel.
    public let names: [String]
    /// Per part, the slot its channel hashes to.
    public let slots: [Int]

    /// More parts than this buy nothing (a connection per primary carries them all anyway) and
    /// would make the search long.
    public static let maxParts = 1024

    /// `parts` is clamped to 1...`maxParts`.
    public init(parts: Int = Self.defaultParts) {
        let parts = min(max(parts, 1), Self.maxParts)
        var names: [String] = []
        var slots: [Int] = []
        var found = [String?](repeating: nil, count: parts)
        var slotOf = [Int](repeating: 0, count: parts)
        var missing = parts
        // Every slot is the CRC16 of some short decimal string, so this ends; with 64 parts it
        // takes a few hundred hashes.
        var n = 0
        while missing > 0 {
            let tag = String(n)
            let slot = RedisClusterSlot.of(tag)
            let part = slot * parts / RedisClusterSlot.count
            if found[part] == nil {
                found[part] = "\(FlowRecord.channel):{\(tag)}"
                slotOf[part] = slot
                missing -= 1
            }
            n += 1
        }
        for part in 0..<parts {
            names.append(found[part] ?? "")
            slots.append(slotOf[part])
        }
        self.names = names
        self.slots = slots
    }

    public var parts: Int { names.count }

    /// The part `slot` lies in.
    public func part(ofSlot slot: Int) -> Int {
        min(max(slot, 0), RedisClusterSlot.count - 1) * parts / RedisClusterSlot.count
    }

    /// The channel to announce the entry under `key` on, and that channel's slot.
    public func channel(forKey key: String) -> (name: String, slot: Int) {
        let part = part(ofSlot: RedisClusterSlot.of(key))
        return (names[part], slots[part])
    }
}
