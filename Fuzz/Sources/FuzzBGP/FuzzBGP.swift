import FuzzEntryPoints

@main enum FuzzBGP {
    static func main() {
        FuzzDriver.run { data, size in
            BGPFuzzEntry.bgp(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
