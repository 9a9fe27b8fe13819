import FuzzEntryPoints

@main enum FuzzPipeline {
    static func main() {
        FuzzDriver.run { data, size in
            FuzzEntry.pipeline(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
