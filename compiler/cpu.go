package compiler

// The code shapes chosen by the CPU the compiler runs on, when it compiles for that CPU.

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/cpu"

	"github.com/simplang/simplang/toolchain"
)

// jamHurts reports whether the CPU this runs on streams a mat-vec's rows faster one at a time
// than loops.JamRows at once: AMD's Zen 5 (family 26) and later. Measured 2026-12-02 on an
// AMD EPYC of family 26 (48 KiB L1d), 2 threads, a mat-vec of 200 MB read from memory, the two
// builds in one process, alternated: 4096 columns ran 1.23× (f32) and 1.25× (bf16) faster
// unjammed, 6144 columns 1.10× and 1.15–1.18×, 3072 1.00× and 1.02–1.15×, 11008 and 16384
// 1.02–1.04×. The decode step (two sittings, each in both orders, geometric means) took 0.96
// and 0.99 of its time at 1B bf16, 0.97 and 0.99 at 1B f32, 0.96 at 7B bf16. Where jamming
// was measured it helped: AMD's Zen 4 (32 KiB L1d, 8–30 points of bandwidth, loops.JamRows)
// and Intel's Sapphire Rapids (3%, README).
var jamHurts = sync.OnceValue(func() bool { return zen5OrLater(toolchain.CPUInfo("vendor_id", "cpu family")) })

// repeatedPrefetchHurts reports whether the CPU this runs on streams the weights of q8 and q4
// mat-vecs faster when their grouped loops ask for each line once than lower.PrefetchTimes
// times: AMD's Zen 5 (family 26) and later. Measured 2026-12-04 on an AMD EPYC of family 26,
// 2 threads, tokens streaming 42–73 GB/s, the decode step of the two builds alternated token by
// token (positions 0–15, evicted caches before each token, medians of 48–96 pairs): once
// against three times took 0.932 / 0.975 of the time at 125M q4 (huge / 4 KiB pages), 0.949 /
// 0.944 at 125M q8, 0.957 / 0.980 at 1B q4 and 0.960 at 1B q8 (huge); twice against three
// times 0.959–0.993. Three against once, later (48 pairs): 3B q4 1.005 / 1.038 (huge / 4 KiB),
// 3B q8 1.075, 7B q4 1.062 / 1.044, 1B q8 on 4 KiB pages 1.049. Once 4 or 12 KiB ahead instead
// of 8: 1.005–1.025. Not prefetching at all: 1.17. On Zen 4 three times paid
// (lower.PrefetchTimes).
var repeatedPrefetchHurts = sync.OnceValue(func() bool { return zen5OrLater(toolchain.CPUInfo("vendor_id", "cpu family")) })

// zen5OrLater tells from a processor's /proc/cpuinfo fields (toolchain.CPUInfo) whether it is
// an AMD CPU of family 26 or later.
func zen5OrLater(info map[string]string) bool { return amdFamily(info) >= 26 }

// floatPrefetchHurts reports whether the CPU this runs on streams the rows of float dot
// products (f32 and bf16 mat-vecs) faster without their software prefetch: AMD's Zen 4
// (family 25 with AVX-512; measured there, see lower's floatDots). Elsewhere the prefetch was
// measured to pay (Sapphire Rapids), or was not measured apart from the other weight types'.
var floatPrefetchHurts = sync.OnceValue(func() bool {
	return ownPrefetchersFaster(toolchain.CPUInfo("vendor_id", "cpu family", "flags"))
})

// ownPrefetchersFaster tells from a processor's /proc/cpuinfo fields (toolchain.CPUInfo)
// whether it is an AMD CPU of family 25 with AVX-512 (Zen 4; Zen 3, of the same family, has
// none).
func ownPrefetchersFaster(info map[string]string) bool {
	return amdFamily(info) == 25 && slices.Contains(strings.Fields(info["flags"]), "avx512f")
}

// amdFamily is the CPU family of an AMD processor's /proc/cpuinfo fields, 0 for any other.
func amdFamily(info map[string]string) int {
	if info["vendor_id"] != "AuthenticAMD" {
		return 0
	}
	family, _ := strconv.Atoi(info["cpu family"])
	return family
}

// halfVectorWidth is how many f16 values the CPU this runs on converts to or from f32 in one
// instruction (lower.Options.HalfVectorWidth): 16 with AVX-512, 8 with F16C, and 0 when the
// code is not for this CPU.
func halfVectorWidth(host bool) int {
	switch {
	case !host:
		return 0
	case cpu.X86.HasAVX512F:
		return 16
	case cpu.X86.HasF16C:
		return 8
	}
	return 0
}
