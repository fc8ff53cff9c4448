// CoreDNS for questlog's cluster: the cluster DNS plugins only. There is deliberately no
// `forward` (nor any other plugin that asks a server elsewhere): pods resolve the
// cluster's names and nothing beyond this machine, so a Corefile naming `forward` is
// refused at start ("unknown directive").
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	// The plugins a Corefile may name, in the order CoreDNS chains them (its plugin.cfg):
	// each sees a query before those after it. `hosts` answers names given in the
	// Corefile, e.g. this machine's, without asking anyone.
	dnsserver.Directives = []string{
		"reload",
		"ready",
		"health",
		"prometheus",
		"errors",
		"log",
		"loadbalance",
		"cache",
		"hosts",
		"kubernetes",
		"loop",
	}
	coremain.Run()
}
