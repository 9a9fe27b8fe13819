import FuzzEntryPoints

@main enum FuzzKube {
    static func main() {
        FuzzDriver.run { data, size in
            KubeFuzzEntry.watch(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
