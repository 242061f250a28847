import ArgumentParser
import Cascade

/// The one check every `--tenant`-like option runs before any work, with one message.
enum TenantNameValidation {
    /// Refuses `name` (when given) unless it is a valid tenant name, naming `option` in the error.
    static func check(_ name: String?, option: String = "--tenant") throws {
        guard let name, (try? TenantConfiguration.validatedName(name)) == nil else { return }
        throw ValidationError("\(option): letters, digits, '-', '_' and '.' only (at most 64)")
    }
}
