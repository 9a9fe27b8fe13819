import SwitchyardABI

/// The rules a configuration must meet, whatever it was written in: a `ConfigSpec` in, a
/// `SwitchyardConfig` out, or every problem keyed by the field that has it. Pure: the YAML
/// reader and the Kubernetes source differ only in how they build the spec and locate a path.
public enum ConfigValidation {
    public static func validate(_ spec: ConfigSpec) -> Result<SwitchyardConfig, ConfigProblems> {
        var checker = ConfigChecker()
        let config = checker.check(spec)
        if let config, checker.problems.isEmpty { return .success(config) }
        return .failure(ConfigProblems(checker.problems))
    }

    // Limits. Maglev: the table must be prime, and much larger than the backend count for even
    // spreading (paper §3.4 uses M > 100·N); the datapath accepts up to SY_MAGLEV_MAX_SIZE.
    public static let mtuRange = 1280...9216
    public static let maglevSizeRange = 251...Int(SY_MAGLEV_MAX_SIZE)
    public static let flowTableRange = 1024...100_000_000
    public static let newFlowRateRange = 0...100_000_000
    public static let flowEvictIdleRange = 0.0...3600
    public static let portRange = 1...65535
    public static let weightRange = 0...65535
    /// Flow-store entry lifetimes: a second to a day.
    public static let storeLifetimeRange = 1...86400
    public static let storeMaxEntriesRange = 1000...100_000_000
    public static let expectStatusRange = 100...599
    public static let probeSecondsRange = 0.05...3600
    public static let riseFallRange = 1...100
    /// The smallest IPv6 link MTU (RFC 8200 §5): what must be left after encapsulation.
    public static let ipv6MinimumMTU = 1280
    /// Maglev spreads evenly only with at least this many slots per ring member (paper §3.4).
    public static let slotsPerBackend = 100
    /// Shards are numbered like 4-octet ASNs: any 32-bit value.
    public static let shardRange = 0...Int(UInt32.max)
    /// 4-octet AS numbers (RFC 6793) without 0 (RFC 7607) and 4294967295 (RFC 7300).
    public static let asnRange = 1...4_294_967_294
    /// RFC 6793 §9: AS_TRANS stands in for a 4-octet ASN towards 2-octet speakers, never for a node.
    public static let asTrans = 23456
    /// RFC 4271 §4.2: a hold time is 0 or at least 3 seconds.
    public static let holdSecondsRange = 3...65535
    public static let drainSecondsRange = 0.0...3600
    /// BFD intervals FRR and BIRD both accept; the detection time is interval × multiplier.
    public static let bfdIntervalMsRange = 10...60000
    /// RFC 5880 §4.1: Detect Mult is one non-zero octet.
    public static let bfdMultiplierRange = 1...255
    /// Linux's TCP_MD5SIG_MAXKEYLEN: the longest RFC 2385 key the kernel takes.
    public static let md5PasswordMaxBytes = 80
}
