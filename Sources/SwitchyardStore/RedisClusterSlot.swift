/// Which of a Redis Cluster's 16384 hash slots a key (or a sharded channel) belongs to: CRC16
/// (XMODEM: polynomial 0x1021, initial value 0, no reflection) of the key modulo 16384, where a
/// key holding a non-empty `{...}` hashes only what is between the first `{` and the first `}`
/// after it (Redis cluster specification, "Key distribution model" and "Hash tags").
///
/// The client computes it rather than asking the server (CLUSTER KEYSLOT) so a batch is split by
/// node without a round trip; the spec's test vector and the tag rules are in the tests.
public enum RedisClusterSlot {
    /// Keys hash to this many slots (cluster specification, "Key distribution model").
    public static let count = RedisRedirect.slotCount

    public static func of(_ key: String) -> Int {
        of(Array(key.utf8))
    }

    public static func of(_ key: [UInt8]) -> Int {
        Int(crc16(hashedPart(key)) % UInt16(count))
    }

    /// The bytes that are hashed: the tag if the key has a non-empty one, else the whole key.
    static func hashedPart(_ key: [UInt8]) -> ArraySlice<UInt8> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        else { return key[...] }
        return key[(open + 1)..<close]
    }

    /// CRC16/XMODEM, a byte at a time through a 256-entry table: a flow's key is ~100 bytes and
    /// is hashed twice per write (its SET, its channel) — bit by bit it showed in the agent's
    /// profile.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The bitwise CRC of each byte value (the table's definition; tests compare against it).
    static func crc16Bitwise(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }

    private static let table: [UInt16] = (0...255).map { crc16Bitwise([UInt8($0)]) }
}
