// Command coredns is CoreDNS with only the plugins the ordinal test harness needs,
// following coredns.io/2017/07/25/compile-time-enabling-or-disabling-plugins/.
// Plugins register themselves in init(); the directive order comes from
// core/dnsserver (zdirectives.go), which lists every upstream name, so names of
// plugins that are not linked in are simply unavailable.
package main

import (
	"github.com/coredns/coredns/coremain"

	// The plugins, in the upstream directive order.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics" // the "prometheus" directive
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
