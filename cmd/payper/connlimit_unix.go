//go:build unix

package main

import "syscall"

// defaultMaxConns derives the connection cap from the process's file
// descriptor limit (which Go raises to the hard limit at start) less
// connHeadroom, and at least 32.
func defaultMaxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 1024 - connHeadroom
	}
	n := int64(lim.Cur) - connHeadroom
	if lim.Cur > 1<<20 {
		n = 1<<20 - connHeadroom
	}
	return int(max(n, 32))
}
