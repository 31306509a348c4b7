//go:build !unix

package ws

import (
	"net"
	"syscall"
)

// rawConn returns nil: writes without blocking are only done on Unix, and
// elsewhere every frame goes through the writer.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeNoWait(syscall.RawConn, []byte) int { return 0 }
