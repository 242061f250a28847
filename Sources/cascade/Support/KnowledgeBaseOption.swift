import ArgumentParser

/// The `--kb` option shared by every command that reads or writes a knowledge base.
struct KnowledgeBaseOption: ParsableArguments {
    @Option(name: .long, help: "Path of the knowledge base file.")
    var kb: String = ".cascade/kb.sqlite"
}
