package config

// Hash keys, prefixes and limits of the config push pipeline. The comment
// names the section of spec/libsession-configs.md (and the libsession-util
// 1.2.0 source it cites) that defines each.
const (
	// labelNonceKeyPrefix, followed by the encryption domain, keys the
	// BLAKE2b-192 hash of the padded plaintext that is the nonce of a config
	// ciphertext (§4.3 step 4; encrypt.cpp:30,69-79).
	labelNonceKeyPrefix = "libsessionutil-config-encrypted-"

	// maxDomainLen is the longest encryption domain (encrypt.cpp:29,37-38).
	maxDomainLen = 24

	// prefixCompressed marks a zstd-compressed body (§4.3 step 2;
	// base.cpp:282-289).
	prefixCompressed = 'z'

	// prefixPart marks one part of a multi-part config message (§4.12;
	// base.cpp:133-140,173-176).
	prefixPart = 'm'

	// prefixDict is the first byte of a serialized config message, a bt
	// dict (§4.2).
	prefixDict = 'd'

	// wrapperPadding is the one byte appended to the Content of the
	// protobuf wrapper in place of Session's 160-byte padding
	// (§4.4; protos.cpp:79-83).
	wrapperPadding = 0x80

	// wrapperTimestamp is the Envelope timestamp of the protobuf wrapper:
	// old clients require it to be positive (protos.cpp:99).
	wrapperTimestamp = 1
)
