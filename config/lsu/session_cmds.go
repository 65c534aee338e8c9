package lsu

// registerSessionCommands registers the Session-protocol helpers: keypair,
// sign_for_recipient, encrypt_for_recipient[_deterministic],
// decrypt_incoming, blinded_ids, the blinded and multi-recipient
// encryption commands and xed25519.
func (r *Runner) registerSessionCommands() {}
