package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Parley runs on.
const clockTicks = 100

// Usage is one reading of a process's memory and CPU.
type Usage struct {
	RSSKiB     int64   `json:"rss_kib"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// readUsage reads pid's resident memory and CPU time; a zero pid reads
// nothing.
func readUsage(pid int) (Usage, error) {
	if pid == 0 {
		return Usage{}, nil
	}
	var u Usage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			u.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name may hold spaces; fields count from after its ')'.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return u, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	u.CPUSeconds = float64(utime+stime) / clockTicks
	return u, nil
}
