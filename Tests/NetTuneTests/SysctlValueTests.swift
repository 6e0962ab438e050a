import Testing

@testable import NetTune

@Suite struct SysctlValueTests {
    @Test func kernelTabsAndNewlineBecomeSingleSpaces() {
        #expect(SysctlValue.normalize("4096\t16384\t4194304\n") == "4096 16384 4194304")
        #expect(SysctlValue.normalize("  bbr \n") == "bbr")
        #expect(SysctlValue.normalize("1") == "1")
        #expect(SysctlValue.normalize("\n") == "")
    }

    @Test func comparisonIgnoresWhitespace() {
        #expect(SysctlValue.same("4096\t87380\t6291456\n", "4096 87380  6291456"))
        #expect(!SysctlValue.same("4096 87380 6291456", "4096 87380 6291457"))
    }
}

@Suite struct TCPBufferTripleTests {
    @Test func parsesKernelOutput() throws {
        let triple = try TCPBufferTriple(parsing: "4096\t131072\t6291456\n")
        #expect(triple.min == 4096)
        #expect(triple.default == 131072)
        #expect(triple.max == 6_291_456)
        #expect(triple.description == "4096 131072 6291456")
    }

    @Test func equalValuesAreAllowed() throws {
        #expect(try TCPBufferTriple(parsing: "4096 4096 4096").max == 4096)
    }

    @Test func rejectsWrongFieldCount() {
        #expect(throws: TCPBufferTripleError.wrongFieldCount(text: "4096 16384", count: 2)) {
            try TCPBufferTriple(parsing: "4096 16384")
        }
        #expect(throws: TCPBufferTripleError.wrongFieldCount(text: "1 2 3 4", count: 4)) {
            try TCPBufferTriple(parsing: "1 2 3 4")
        }
    }

    @Test func rejectsNonNumbers() {
        #expect(throws: TCPBufferTripleError.notANumber("16k")) { try TCPBufferTriple(parsing: "4096 16k 4194304") }
        #expect(throws: TCPBufferTripleError.notANumber("4k")) { try TCPBufferTriple(parsing: "4k 16384 4194304") }
        #expect(throws: TCPBufferTripleError.notPositive) { try TCPBufferTriple(parsing: "-1 16384 4194304") }
    }

    @Test func rejectsZeroAndDisorder() {
        #expect(throws: TCPBufferTripleError.notPositive) { try TCPBufferTriple(parsing: "0 16384 4194304") }
        #expect(throws: TCPBufferTripleError.outOfOrder(min: 4096, default: 8_388_608, max: 4_194_304)) {
            try TCPBufferTriple(parsing: "4096 8388608 4194304")
        }
        #expect(throws: TCPBufferTripleError.outOfOrder(min: 65536, default: 4096, max: 4_194_304)) {
            try TCPBufferTriple(parsing: "65536 4096 4194304")
        }
    }

    @Test func errorMessageShowsTheExpectedForm() {
        let message = TCPBufferTripleError.wrongFieldCount(text: "4096", count: 1).description
        #expect(message.contains("min default max"))
    }
}
