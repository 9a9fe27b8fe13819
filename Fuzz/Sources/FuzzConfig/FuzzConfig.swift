import FuzzEntryPoints

@main enum FuzzConfig {
    static func main() {
        FuzzDriver.run { data, size in
            FuzzEntry.config(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
