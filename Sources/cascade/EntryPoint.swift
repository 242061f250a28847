import ArgumentParser
import Foundation
import VectorSearch

/// Process entry: makes sure OpenBLAS starts with the right settings, then hands over to the
/// command parser.
@main
enum EntryPoint {
    static func main() async {
        // See BLASCoreSelection: OpenBLAS reads its settings only when it loads.
        BLASCoreSelection.reexecIfNeeded(
            environment: ProcessInfo.processInfo.environment, arguments: CommandLine.arguments)
        await Cascade.main()
    }
}
