import ArgumentParser
import Foundation

/// Checks on a file a command will write, run before any long work so a typo fails at once.
enum OutputFile {
    /// Fails when `path` cannot be written: its folder is missing or not writable, or (unless
    /// `replace`) the file already exists.
    static func checkWritable(_ path: String, replace: Bool) throws {
        let fm = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        let directory = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError("cannot write \(path): there is no folder \(directory)")
        }
        guard fm.isWritableFile(atPath: directory) else {
            throw CommandError("cannot write \(path): the folder \(directory) is not writable")
        }
        if !replace && fm.fileExists(atPath: path) {
            throw CommandError("\(path) already exists; not replacing it")
        }
    }
}
