package localcluster

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is the resident memory, in bytes, of the cluster's etcd,
// kube-apiserver and kube-controller-manager together (Linux only).
func (c *Cluster) RSS() (uint64, error) {
	var total uint64
	for _, pid := range c.pids() {
		rss, err := processRSS(pid)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", c.Name, err)
		}
		total += rss
	}
	return total, nil
}

// processRSS reads VmRSS from /proc/<pid>/status.
func processRSS(pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: VmRSS %q: %w", pid, value, err)
		}
		return kb * 1024, nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in /proc/%d/status", pid, pid)
}
