// Package conformance holds the end-to-end tests of the compiler: the shared corpus
// (../shared/corpus) compiled by every backend, loaded and run; kernels with array
// parameters called from Go through the loader; and an exported kernel called from C with
// its expanded memref arguments, as the original benchmark harness did. It has no code
// outside its tests.
package conformance
