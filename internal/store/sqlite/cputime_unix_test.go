//go:build unix

package sqlite

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time, user and system, that the process has used.
// Benchmarks report it per op because, unlike wall time, other load on a
// shared machine hardly changes it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
