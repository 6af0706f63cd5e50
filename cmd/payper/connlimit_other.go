//go:build !unix

package main

// defaultMaxConns is 1024 less connHeadroom where the file descriptor
// limit cannot be read.
func defaultMaxConns() int { return 1024 - connHeadroom }
