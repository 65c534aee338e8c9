//go:build ignore

// gen_amd64.go writes basemul_amd64.s: go generate ./internal/basemul
// (see basemul_amd64.go). The two functions are unrolled, so they are
// written by this program rather than by hand.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var b bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&b, "\t"+format+"\n", args...) }

func z(i int) string { return fmt.Sprintf("Z%d", i) }

// carry propagates the carries of the limbs in registers r[0..4] (radix
// 2^51), folding the carry out of the top limb into the bottom one times
// 19 (2^255 = 19 mod p). M is the register holding 2^51-1; t, u are
// scratch registers. Inputs below 2^62 give limbs below 2^52.
func carry(r [5]int, m, t, u int) {
	for i := 0; i < 4; i++ {
		p("VPSRLQ $51, %s, %s", z(r[i]), z(t))
		p("VPANDQ %s, %s, %s", z(m), z(r[i]), z(r[i]))
		p("VPADDQ %s, %s, %s", z(t), z(r[i+1]), z(r[i+1]))
	}
	p("VPSRLQ $51, %s, %s", z(r[4]), z(t))
	p("VPANDQ %s, %s, %s", z(m), z(r[4]), z(r[4]))
	times19Add(t, r[0], u)
}

// times19Add adds 19 times register s to register d (19 = 16 + 2 + 1),
// with u as scratch.
func times19Add(s, d, u int) {
	p("VPADDQ %s, %s, %s", z(s), z(d), z(d))
	p("VPSLLQ $1, %s, %s", z(s), z(u))
	p("VPADDQ %s, %s, %s", z(u), z(d), z(d))
	p("VPSLLQ $4, %s, %s", z(s), z(u))
	p("VPADDQ %s, %s, %s", z(u), z(d), z(d))
}

// term is one addend of an operand: a field element in memory (base
// register and offset), added or subtracted.
type term struct {
	reg string
	off int
	neg bool
}

// operand is a sum of terms, plus 8p when a term is subtracted (so that
// no limb goes below zero).
type operand []term

func mem(reg string, off int) operand { return operand{{reg: reg, off: off}} }

func (o operand) plus(reg string, off int) operand {
	return append(o[:len(o):len(o)], term{reg: reg, off: off})
}

func (o operand) minus(reg string, off int) operand {
	return append(o[:len(o):len(o)], term{reg: reg, off: off, neg: true})
}

// load writes operand o's limbs into registers r[0..4], with t as scratch.
func load(o operand, r [5]int, t int) {
	sub := false
	for _, x := range o {
		sub = sub || x.neg
	}
	for i := 0; i < 5; i++ {
		p("VMOVDQU64 %d(%s), %s", o[0].off+64*i, o[0].reg, z(r[i]))
		for _, x := range o[1:] {
			op := "VPADDQ"
			if x.neg {
				op = "VPSUBQ"
			}
			p("%s %d(%s), %s, %s", op, x.off+64*i, x.reg, z(r[i]), z(r[i]))
		}
		if sub {
			p("MOVQ $0x%x, AX", eightP[i])
			p("VPBROADCASTQ AX, %s", z(t))
			p("VPADDQ %s, %s, %s", z(t), z(r[i]), z(r[i]))
		}
	}
}

// mul writes a·b to memory at out (base register and offset). The limbs
// of a and b may be up to 2^62; those written are below 2^52.
func mul(outReg string, outOff int, a, b operand) {
	load(a, [5]int{0, 1, 2, 3, 4}, 29)
	load(b, [5]int{5, 6, 7, 8, 9}, 29)
	p("MOVQ $0x7ffffffffffff, AX")
	p("VPBROADCASTQ AX, Z28")
	carry([5]int{0, 1, 2, 3, 4}, 28, 29, 30)
	carry([5]int{5, 6, 7, 8, 9}, 28, 29, 30)
	// lo[k] in Z10..Z18, hi[k] in Z19..Z27.
	for k := 10; k <= 27; k++ {
		p("VPXORQ %s, %s, %s", z(k), z(k), z(k))
	}
	for i := 0; i < 5; i++ {
		for j := 0; j < 5; j++ {
			p("VPMADD52LUQ %s, %s, %s", z(5+j), z(i), z(10+i+j))
			p("VPMADD52HUQ %s, %s, %s", z(5+j), z(i), z(19+i+j))
		}
	}
	// Column k (weight 2^(51k)) is lo[k] + 2·hi[k-1]: the high half of a
	// product starts at bit 52, one above the next column.
	for k := 1; k <= 8; k++ {
		p("VPADDQ %s, %s, %s", z(19+k-1), z(10+k), z(10+k))
		p("VPADDQ %s, %s, %s", z(19+k-1), z(10+k), z(10+k))
	}
	p("VPADDQ Z27, Z27, Z29") // column 9
	// Fold columns 5..9 into 0..4 times 19.
	for k := 0; k < 5; k++ {
		s := 15 + k
		if k == 4 {
			s = 29
		}
		times19Add(s, 10+k, 30)
	}
	carry([5]int{10, 11, 12, 13, 14}, 28, 29, 30)
	for i := 0; i < 5; i++ {
		p("VMOVDQU64 %s, %d(%s)", z(10+i), outOff+64*i, outReg)
	}
}

func mul8() {
	b.WriteString("\n// func mul8(out, a, b *fe8)\nTEXT ·mul8(SB), NOSPLIT, $0-24\n")
	p("MOVQ out+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("MOVQ b+16(FP), DX")
	mul("DI", 0, mem("SI", 0), mem("DX", 0))
	p("VZEROUPPER")
	p("RET")
}

// madd8 is point8.madd: q += p, the mixed addition of extended
// coordinates and a (y+x, y-x, 2dxy) entry, seven products.
func madd8() {
	b.WriteString("\n// func madd8(q *point8, e *pre8, w *[3]fe8)\nTEXT ·madd8(SB), NOSPLIT, $0-24\n")
	p("MOVQ q+0(FP), DI")
	p("MOVQ e+8(FP), SI")
	p("MOVQ w+16(FP), DX")
	const X, Y, Z, T = 0, 320, 640, 960                       // point8
	const yp, ym, t2 = 0, 320, 640                            // pre8
	const wa, wb, wc = 0, 320, 640                            // w
	mul("DX", wa, mem("DI", Y).minus("DI", X), mem("SI", ym)) // A = (Y-X)(y-x)
	mul("DX", wb, mem("DI", Y).plus("DI", X), mem("SI", yp))  // B = (Y+X)(y+x)
	mul("DX", wc, mem("DI", T), mem("SI", t2))                // C = T·2dxy
	e := mem("DX", wb).minus("DX", wa)                        // E = B-A
	f := mem("DI", Z).plus("DI", Z).minus("DX", wc)           // F = 2Z-C
	g := mem("DI", Z).plus("DI", Z).plus("DX", wc)            // G = 2Z+C
	h := mem("DX", wb).plus("DX", wa)                         // H = B+A
	mul("DI", X, e, f)
	mul("DI", Y, g, h)
	mul("DI", T, e, h)
	mul("DI", Z, f, g) // last: it reads Z
	p("VZEROUPPER")
	p("RET")
}

// eightP is 8p in radix 2^51, limb by limb.
var eightP = [5]uint64{1<<54 - 152, 1<<54 - 8, 1<<54 - 8, 1<<54 - 8, 1<<54 - 8}

func select8() {
	b.WriteString("\n// func select8(out *pre8, row *[8][15]uint64, digits *[8]int64)\nTEXT ·select8(SB), NOSPLIT, $0-24\n")
	p("MOVQ out+0(FP), DI")
	p("MOVQ row+8(FP), SI")
	p("MOVQ digits+16(FP), DX")
	p("VMOVDQU64 (DX), Z16")
	p("VPABSQ Z16, Z17")
	p("VPXORQ Z18, Z18, Z18")
	p("VPCMPGTQ Z16, Z18, K2") // K2: lanes whose digit is negative
	p("MOVQ $1, AX")
	p("VPBROADCASTQ AX, Z19")
	// The identity: y+x = y-x = 1, 2dxy = 0.
	for l := 0; l < 15; l++ {
		if l == 0 || l == 5 {
			p("VMOVDQA64 Z19, %s", z(l))
		} else {
			p("VPXORQ %s, %s, %s", z(l), z(l), z(l))
		}
	}
	// Every entry is read for every lane; a lane keeps the one its digit
	// names.
	for j := 1; j <= 8; j++ {
		p("MOVQ $%d, AX", j)
		p("VPBROADCASTQ AX, Z20")
		p("VPCMPEQQ Z20, Z17, K1")
		for l := 0; l < 15; l++ {
			p("VPBROADCASTQ %d(SI), K1, %s", ((j-1)*15+l)*8, z(l))
		}
	}
	// Negative digits: -(x, y) = (-x, y) swaps y+x and y-x and negates 2dxy.
	for l := 0; l < 5; l++ {
		p("VMOVDQA64 %s, Z21", z(l))
		p("VMOVDQA64 %s, K2, %s", z(5+l), z(l))
		p("VMOVDQA64 Z21, K2, %s", z(5+l))
	}
	for l := 0; l < 5; l++ {
		p("MOVQ $0x%x, AX", eightP[l])
		p("VPBROADCASTQ AX, Z22")
		p("VPSUBQ %s, Z22, Z23", z(10+l))
		p("VMOVDQA64 Z23, K2, %s", z(10+l))
	}
	for l := 0; l < 15; l++ {
		p("VMOVDQU64 %s, %d(DI)", z(l), 64*l)
	}
	p("VZEROUPPER")
	p("RET")
}

func main() {
	b.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	mul8()
	madd8()
	select8()
	if err := os.WriteFile("basemul_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
