import Foundation

/// A point in time as Kubernetes writes it: RFC 3339 in UTC, `metav1.Time` with whole seconds
/// (`2026-11-30T14:00:00Z`) and `metav1.MicroTime` with six fraction digits
/// (`2026-11-30T14:00:00.123456Z`). Parsed and formatted by hand, because `DateFormatter` depends
/// on the process locale and calendar and `ISO8601DateFormatter` drops microseconds.
public struct KubeTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// 0 ..< 1_000_000.
    public var microseconds: Int32

    public init(seconds: Int64, microseconds: Int32 = 0) {
        let carry = Int64(microseconds) / 1_000_000
        var micro = Int64(microseconds) % 1_000_000
        var secs = seconds + carry
        if micro < 0 {
            micro += 1_000_000
            secs -= 1
        }
        self.seconds = secs
        self.microseconds = Int32(micro)
    }

    public init(_ date: Date) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded(.down)
        let total = Int64(exactly: micros) ?? 0
        self.init(seconds: total.floorDivided(by: 1_000_000), microseconds: Int32(total.floorModulo(1_000_000)))
    }

    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(microseconds) / 1_000_000)
    }

    /// Parses RFC 3339 with any number of fraction digits (beyond six are truncated) and a `Z`
    /// or `±hh:mm` offset; nil for anything else, so a bad timestamp is never read as "now".
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + digits)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2),
            (1...12).contains(month), (1...KubeTime.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var micro: Int64 = 0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                if digits < 6 { micro = micro * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 6 { for _ in digits..<6 { micro *= 10 } }
        }
        var offset: Int64 = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2),
                offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = KubeTime.daysFromCivil(year: year, month: month, day: day)
        self.init(seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, microseconds: Int32(micro))
    }

    /// `metav1.Time`: whole seconds, as `creationTimestamp` and condition times are written.
    public var rfc3339: String { format(micro: false) }
    /// `metav1.MicroTime`: six fraction digits, as a Lease's `acquireTime`/`renewTime`.
    public var rfc3339Micro: String { format(micro: true) }
    public var description: String { rfc3339Micro }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.seconds, lhs.microseconds) < (rhs.seconds, rhs.microseconds)
    }

    private func format(micro: Bool) -> String {
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = seconds.floorModulo(86_400)
        let (year, month, day) = KubeTime.civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        text += "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))"
        if micro { text += "." + pad(Int64(microseconds), 6) }
        return text + "Z"
    }

    private static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDivided(by: 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse, `civil_from_days`.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension KubeTime {
    /// This time moved by a duration (sub-microsecond parts dropped).
    public func adding(_ duration: Duration) -> KubeTime {
        let (secs, attos) = duration.components
        return KubeTime(seconds: seconds + secs, microseconds: microseconds + Int32(attos / 1_000_000_000_000))
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func floorModulo(_ divisor: Int64) -> Int64 { self - floorDivided(by: divisor) * divisor }
}
