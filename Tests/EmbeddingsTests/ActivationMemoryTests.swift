import CKernels
import Foundation
import Testing

@testable import Embeddings

/// The allocator settings that keep the encoder's buffers mapped between passes are applied when
/// the user has not tuned glibc's allocator: glibc accepts both values (it answers 0 to one it
/// refuses, which would otherwise leave its defaults without a word).
@Suite struct ActivationMemoryTests {
    @Test func glibcAcceptsTheThresholds() throws {
        #if canImport(Glibc)
            try #require(ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] == nil)
            #expect(ActivationMemory.retained)
            #expect(ck_keep_heap(ActivationMemory.mmapThreshold, ActivationMemory.trimThreshold) == 1)
        #endif
    }
}
