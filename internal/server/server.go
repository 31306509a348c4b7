// Package server wires Parley's parts into one running server.
package server
