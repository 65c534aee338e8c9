//go:build amd64 && !purego

package basemul

import "golang.org/x/sys/cpu"

//go:generate go run gen_amd64.go

// vector reports whether this CPU has the AVX-512 instructions the vector
// code uses: AVX512F, and IFMA's 52-bit multiply-adds.
var vector = cpu.X86.HasAVX512F && cpu.X86.HasAVX512IFMA

// mul8 sets out to a·b, lane by lane. The limbs of a and b may be up to
// 2^62; those of out are below 2^52. out may be a or b.
//
//go:noescape
func mul8(out, a, b *fe8)

// madd8 adds the table entries e to q, lane by lane (the mixed addition
// of extended coordinates, seven products), with w as scratch. The limbs
// of q are below 2^52 before and after.
//
//go:noescape
func madd8(q *point8, e *pre8, w *[3]fe8)

// select8 sets out, lane by lane, to digit·row's point: row[d-1] for a
// digit d in 1..8, its negation for -8..-1, and the identity for 0. It
// reads every entry of row whatever the digits.
//
//go:noescape
func select8(out *pre8, row *[8][15]uint64, digits *[8]int64)
