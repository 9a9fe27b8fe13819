import FuzzEntryPoints

@main enum FuzzSentinel {
    static func main() {
        FuzzDriver.run { data, size in
            SentinelFuzzEntry.sentinel(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
