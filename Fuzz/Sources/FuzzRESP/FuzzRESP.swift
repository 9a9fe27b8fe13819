import FuzzEntryPoints

@main enum FuzzRESP {
    static func main() {
        FuzzDriver.run { data, size in
            RESPFuzzEntry.resp(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
