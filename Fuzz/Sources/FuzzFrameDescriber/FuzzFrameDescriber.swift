import FuzzEntryPoints

@main enum FuzzFrameDescriber {
    static func main() {
        FuzzDriver.run { data, size in
            FuzzEntry.frameDescriber(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
