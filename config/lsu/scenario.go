package lsu

// registerScenario registers the scenario command.
func (r *Runner) registerScenario() {}
