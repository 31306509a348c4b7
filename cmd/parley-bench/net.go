package main

import (
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// dialers hands out HTTP clients round-robin over the source addresses
// and targets, so that sessions spread over both: one source address has
// about 28,000 ephemeral ports towards one server address.
type dialers struct {
	clients []*http.Client
	targets []string
	next    atomic.Uint64
}

func newDialers(o Options) *dialers {
	d := &dialers{targets: o.Targets}
	addrs := o.SourceAddrs
	if len(addrs) == 0 {
		addrs = []string{""}
	}
	for _, a := range addrs {
		nd := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		if a != "" {
			nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(a)}
		}
		t := &http.Transport{DialContext: nd.DialContext, MaxIdleConnsPerHost: 256, ForceAttemptHTTP2: false}
		d.clients = append(d.clients, &http.Client{Transport: t})
	}
	return d
}

// pick returns the target and the client of the i-th session.
func (d *dialers) pick(i int) (string, *http.Client) {
	return d.targets[i%len(d.targets)], d.clients[(i/len(d.targets))%len(d.clients)]
}

// any returns some target and client, in turn.
func (d *dialers) any() (string, *http.Client) {
	return d.pick(int(d.next.Add(1)))
}
