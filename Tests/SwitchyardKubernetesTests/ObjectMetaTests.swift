import Foundation
import Testing

@testable import SwitchyardKubernetes

@Suite struct ObjectMetaTests {
    @Test func decodesAServersMetadataIgnoringFieldsItDoesNotName() throws {
        let json = """
            {"name":"web","namespace":"shop","uid":"u-1","resourceVersion":"42","generation":3,
             "creationTimestamp":"2026-11-30T14:00:00Z","labels":{"app":"web"},
             "managedFields":[{"manager":"kubectl"}],"selfLink":"x"}
            """
        let meta = try JSONDecoder().decode(ObjectMeta.self, from: Data(json.utf8))
        #expect(meta.name == "web" && meta.namespace == "shop" && meta.resourceVersion == "42")
        #expect(meta.generation == 3 && meta.labels == ["app": "web"])
    }
}
