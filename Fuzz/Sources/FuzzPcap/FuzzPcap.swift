import FuzzEntryPoints

@main enum FuzzPcap {
    static func main() {
        FuzzDriver.run { data, size in
            FuzzEntry.pcap(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
