/// A list response (`ServiceList`, `AddressPoolList`, …): the items and the collection's
/// resourceVersion, from which a watch resumes without missing or repeating a change.
public struct KubeList<Item: KubeResource>: Decodable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]

    public init(metadata: ListMeta, items: [Item]) {
        self.metadata = metadata
        self.items = items
    }

    private enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        // The real server sends `"items": null` for an empty list of some kinds.
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// `metav1.ListMeta`.
public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
    public var `continue`: String?

    public init(resourceVersion: String? = nil) { self.resourceVersion = resourceVersion }
}
