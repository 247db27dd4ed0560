package server

import (
	"regexp"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// namingRegisterer registers collectors on a registry and notes the names
// of the metrics they describe, so that the deployment files (alert rules,
// dashboards) can be checked against the names the code really exports,
// whether or not a labelled metric has a value yet.
type namingRegisterer struct {
	*prometheus.Registry
	names map[string]bool
}

// fqName picks the name out of a Desc's String, the only place the
// client library shows it.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Register implements prometheus.Registerer.
func (n *namingRegisterer) Register(c prometheus.Collector) error {
	if err := n.Registry.Register(c); err != nil {
		return err
	}
	descs := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(descs); close(descs) }() // ends when Describe returns
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			n.names[m[1]] = true
		}
	}
	return nil
}

// MustRegister implements prometheus.Registerer.
func (n *namingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := n.Register(c); err != nil {
			panic(err)
		}
	}
}

// MetricNames lists the names of the metrics the server exports at
// /metrics, as registered (histograms without their _bucket, _sum and
// _count suffixes).
func (s *Server) MetricNames() []string {
	out := make([]string, 0, len(s.metricNames))
	for n := range s.metricNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
