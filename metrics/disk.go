package metrics

import (
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// DiskSpace exports the free and total space of the file system that holds
// a folder (the data dir), read at each scrape: a full disk fails every
// write, so the operator wants the alert before it happens, and Hearth's
// own metrics serve where no node exporter runs.
type DiskSpace struct {
	path        string
	free, total *prometheus.Desc
}

// NewDiskSpace makes the collector for the file system holding path;
// register it on a registry.
func NewDiskSpace(path string) *DiskSpace {
	return &DiskSpace{
		path: path,
		free: prometheus.NewDesc("hearth_data_dir_free_bytes",
			"Bytes available to the homeserver on the file system of its data dir.", nil, nil),
		total: prometheus.NewDesc("hearth_data_dir_size_bytes",
			"Size in bytes of the file system of the data dir.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (d *DiskSpace) Describe(ch chan<- *prometheus.Desc) { ch <- d.free; ch <- d.total }

// Collect implements prometheus.Collector; a failed statfs reports
// nothing rather than zero, which would look like a full disk.
func (d *DiskSpace) Collect(ch chan<- prometheus.Metric) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.path, &st); err != nil {
		return
	}
	bsize := float64(st.Bsize)
	ch <- prometheus.MustNewConstMetric(d.free, prometheus.GaugeValue, float64(st.Bavail)*bsize)
	ch <- prometheus.MustNewConstMetric(d.total, prometheus.GaugeValue, float64(st.Blocks)*bsize)
}
