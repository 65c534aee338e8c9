//go:build !amd64 || purego

package basemul

const vector = false

func mul8(out, a, b *fe8) { panic("basemul: no vector code on this platform") }

func select8(out *pre8, row *[8][15]uint64, digits *[8]int64) {
	panic("basemul: no vector code on this platform")
}

func madd8(q *point8, e *pre8, w *[3]fe8) { panic("basemul: no vector code on this platform") }
