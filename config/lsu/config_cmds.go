package lsu

// registerConfigCommands registers config_encrypt, config_decrypt,
// padded_size, protos_wrap and protos_unwrap.
func (r *Runner) registerConfigCommands() {}
