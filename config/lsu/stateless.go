package lsu

// registerStateless registers the stateless commands (docs/config.md, the
// table of stateless commands).
func (r *Runner) registerStateless() {
	r.handlers["version"] = func(*Request) (Reply, error) {
		return Reply{"libsession_version": "sotto", "implementation": "sotto"}, nil
	}
	r.registerConfigCommands()
	r.registerSessionCommands()
}
