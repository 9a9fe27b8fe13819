import FuzzEntryPoints

@main enum FuzzBFD {
    static func main() {
        FuzzDriver.run { data, size in
            BFDFuzzEntry.bfd(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
