//go:build unix

package ws

import (
	"net"
	"syscall"
)

// rawConn returns the descriptor access of c, or nil if c has none.
func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// writeNoWait makes one write system call of b on raw's socket, which Go
// keeps non-blocking, and returns how much it wrote: 0 when the socket's
// buffer is full or the write failed (the next ordinary write will meet
// the failure again and report it).
func writeNoWait(raw syscall.RawConn, b []byte) int {
	n := 0
	err := raw.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), b)
		return true // never wait for the socket to become writable
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}
