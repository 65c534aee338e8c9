package testnet

import (
	"fmt"

	dto "github.com/prometheus/client_model/go"
)

// Metrics gathers the Prometheus metrics of in-process node i (the
// node's own registry; nodes of a testnet serve no metrics listener).
// Tests read counters from it, such as the anti-entropy rounds a node
// ran. It fails for a node that is stopped or runs as a child process.
func (n *Network) Metrics(i int) ([]*dto.MetricFamily, error) {
	m, err := n.member(i)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("testnet: node %d is not running in this process", i)
	}
	return p.node.Registry().Gather()
}

// Counter sums the values of the counter family name in mfs over the
// series whose labels include every label in match (nil: all series).
func Counter(mfs []*dto.MetricFamily, name string, match map[string]string) float64 {
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for k, v := range match {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == k && l.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
