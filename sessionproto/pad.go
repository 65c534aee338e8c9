package sessionproto

// padBlock is the block size of 1:1 and community message padding
// (libsession-util COMMUNITY_OR_1O1_MSG_PADDING; spec §2.2).
const padBlock = 160

// padTerminator marks the end of the message inside the padding.
const padTerminator = 0x80

// PadLegacy pads m the way pre-libsession desktop clients did (spec §2.2,
// session-desktop BufferPadding.ts addMessagePadding): m || 0x80 || 0x00…
// to a length of 160·⌈(len(m)+2)/160⌉ − 1, i.e. 159 mod 160.
func PadLegacy(m []byte) []byte {
	n := padBlock*((len(m)+2+padBlock-1)/padBlock) - 1
	return padTo(m, n)
}

// Pad pads m the way libsession (2025+) does (spec §2.2, libsession-util
// pad_message): m || 0x80 || 0x00… to the next multiple of 160 strictly
// greater than len(m); when len(m)+1 is a multiple of 160 a whole extra
// block is added.
func Pad(m []byte) []byte {
	n := len(m) + 1
	n += padBlock - n%padBlock
	return padTo(m, n)
}

func padTo(m []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, m)
	out[len(m)] = padTerminator
	return out
}

// Unpad removes message padding with the rule every current receiver
// applies (spec §2.2): skip trailing 0x00 bytes; if the byte before them
// is 0x80, the message ends just before it; otherwise the message was not
// padded and is returned unchanged. A message of only zero bytes is
// returned unchanged too. The result aliases m. Unpad never fails: Session
// receivers do not enforce padding.
func Unpad(m []byte) []byte {
	i := len(m) - 1
	for i >= 0 && m[i] == 0 {
		i--
	}
	if i >= 0 && m[i] == padTerminator {
		return m[:i]
	}
	return m
}
