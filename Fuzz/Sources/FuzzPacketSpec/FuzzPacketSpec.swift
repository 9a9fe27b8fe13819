import FuzzEntryPoints

@main enum FuzzPacketSpec {
    static func main() {
        FuzzDriver.run { data, size in
            FuzzEntry.packetSpec(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
