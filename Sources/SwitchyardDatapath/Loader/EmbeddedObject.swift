import Foundation

/// The BPF objects compiled into this binary by the BPFObjects plugin.
public enum EmbeddedObject: String, Sendable, CaseIterable {
    case lb
    case decap
    case reference

    public var bytes: [UInt8] {
        let encoded: StaticString =
            switch self {
            case .lb: EmbeddedBPF.lb
            case .decap: EmbeddedBPF.decap
            case .reference: EmbeddedBPF.reference
            }
        let text = encoded.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
        return [UInt8](Data(base64Encoded: text)!)
    }
}
