import SwitchyardABI

/// The one hash every LB node agrees on, specified in `switchyard_abi.h` (`sy_flow_hash`): a
/// MurmurHash3-x64-style mix over little-endian 64-bit words with a seed, then fmix64.
///
/// Never Swift's `Hasher`: that one is seeded per process, and two LB nodes must pick the same
/// backend for the same packet.
public enum SwitchyardHash {
    public static let flowSeed = UInt64(SY_HASH_SEED_FLOW)
    public static let maglevOffsetSeed = UInt64(SY_HASH_SEED_MAGLEV_OFFSET)
    public static let maglevSkipSeed = UInt64(SY_HASH_SEED_MAGLEV_SKIP)

    @inline(__always)
    static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
        var k = word &* UInt64(SY_HASH_C1)
        k = k.rotatedLeft(31) &* UInt64(SY_HASH_C2)
        let h = (h ^ k).rotatedLeft(27)
        return h &* 5 &+ 0x52dc_e729
    }

    @inline(__always)
    static func finish(_ h: UInt64, byteCount: Int) -> UInt64 {
        var h = h ^ UInt64(byteCount)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 33)
    }

    /// Hashes `words` (each the little-endian reading of eight key bytes) with `seed`.
    public static func hash(words: some Sequence<UInt64>, seed: UInt64) -> UInt64 {
        var h = seed
        var count = 0
        for word in words {
            h = mix(h, word)
            count += 1
        }
        return finish(h, byteCount: count * 8)
    }

    /// The Maglev ring slot for a hash: multiply-high reduction, as `sy_ring_slot`.
    @inline(__always)
    public static func ringSlot(_ hash: UInt64, ringSize: UInt32) -> UInt32 {
        UInt32(truncatingIfNeeded: ((hash >> 32) &* UInt64(ringSize)) >> 32)
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
