import Foundation

/// Option values checked the same way whether they came as `--name VALUE` or as `-o
/// name=VALUE` (from /etc/fstab): a failure is one line naming the option as it was given,
/// the value, and what is allowed.
enum ArgumentChecks {
    /// A value and how the user gave it (`--fetch-interval`, or `-o fetch_interval`).
    struct Given {
        let text: String
        let option: String
        /// As the user wrote it: `--fetch-interval -1`, `-o fetch_interval=abc`.
        let shown: String

        /// The command-line value if given, else the `-o` one.
        init?(_ flag: String?, _ flagName: String, _ mountOption: String?, _ mountOptionName: String) {
            if let flag {
                (text, option, shown) = (flag, flagName, "\(flagName) \(flag)")
            } else if let mountOption {
                (text, option, shown) = (mountOption, "-o \(mountOptionName)", "-o \(mountOptionName)=\(mountOption)")
            } else {
                return nil
            }
        }
    }

    /// The longest wait any option takes: a day.
    static let maxSeconds: Double = 86_400

    /// A number of seconds (`1`, `0.5`), more than 0 or, with `zeroAllowed`, 0 or more, and
    /// at most a day: `1e308`, `inf` and `nan` are not seconds anyone meant.
    static func seconds(_ given: Given, zeroAllowed: Bool) throws -> Double {
        let allowed = "\(zeroAllowed ? "0 or more" : "more than 0") and at most \(Int(maxSeconds)) seconds (a day)"
        guard let value = Double(given.text), !value.isNaN else {
            throw Preflight.Failure("\(given.shown): not a number of seconds; give \(allowed)")
        }
        guard zeroAllowed ? value >= 0 : value > 0, value <= maxSeconds else {
            throw Preflight.Failure("\(given.shown): must be \(allowed)")
        }
        return value
    }

    /// `1048576`, `512k`, `100M`, `2G` (powers of 1024).
    static func size(_ given: Given) throws -> Int {
        guard let bytes = byteCount(given.text) else {
            throw Preflight.Failure("\(given.shown): not a size; give bytes, or a number with k, M or G (100M)")
        }
        return bytes
    }

    /// Bytes, or a number with `k`, `M` or `G`; nil if it is not a size.
    static func byteCount(_ text: String) -> Int? {
        let units: [Character: Int] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30]
        guard let last = text.last else { return nil }
        let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }
}
