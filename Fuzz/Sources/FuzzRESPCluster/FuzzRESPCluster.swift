import FuzzEntryPoints

@main enum FuzzRESPCluster {
    static func main() {
        FuzzDriver.run { data, size in
            RESPClusterFuzzEntry.clusterSlots(FuzzDriver.bytes(data, size))
            return 0
        }
    }
}
