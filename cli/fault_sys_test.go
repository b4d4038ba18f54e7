package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// envRequireRoot makes the scenarios that need root (network namespaces,
// tmpfs mounts) fail instead of skip when the suite is not run as root,
// so that a CI machine that should run them cannot silently pass.
const envRequireRoot = "TRIBUTARY_REQUIRE_ROOT_TESTS"

func requireRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(envRequireRoot) == "1" {
		t.Fatalf("%s needs root, and %s=1 forbids skipping it", what, envRequireRoot)
	}
	t.Skipf("%s needs root (run the suite as root; %s=1 makes this a failure)", what, envRequireRoot)
}

// netns is a network namespace joined to this host by a veth pair on a /30
// of 10.231.7.0/24: traffic between them never leaves the machine. The
// connector runs inside; the database, the broker and the checker stay
// outside, so cutting the namespace's traffic partitions the connector
// alone.
type netns struct {
	name   string
	hostIf string
	nsIf   string
	hostIP string // on hostIf, where the database and the broker listen
	nsIP   string
}

// newNetns creates the namespace; t.Cleanup removes it (and the veth pair
// with it) even when the test fails half way through the setup.
func newNetns(ctx context.Context, t *testing.T) (*netns, error) {
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the partition scenario needs %s (Debian packages iproute2, iptables): %w", tool, err)
		}
	}
	base, err := freeSlash30()
	if err != nil {
		return nil, err
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	n := &netns{
		name:   "tributary-fault-" + id,
		hostIf: "trf" + id + "h", // interface names are at most 15 bytes
		nsIf:   "trf" + id + "n",
		hostIP: fmt.Sprintf("10.231.7.%d", base+1),
		nsIP:   fmt.Sprintf("10.231.7.%d", base+2),
	}
	t.Cleanup(func() {
		// Context-free: t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.remove(ctx); err != nil {
			t.Errorf("removing network namespace: %v", err)
		}
	})
	steps := [][]string{
		{"ip", "netns", "add", n.name},
		{"ip", "link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf, "netns", n.name},
		{"ip", "addr", "add", n.hostIP + "/30", "dev", n.hostIf},
		{"ip", "link", "set", n.hostIf, "up"},
		{"ip", "-n", n.name, "addr", "add", n.nsIP + "/30", "dev", n.nsIf},
		{"ip", "-n", n.name, "link", "set", n.nsIf, "up"},
		{"ip", "-n", n.name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := runTool(ctx, s[0], s[1:]...); err != nil {
			return nil, fmt.Errorf("setting up network namespace %s: %w", n.name, err)
		}
	}
	// The veth needs a moment to come up; until then the first connection
	// from inside fails with EHOSTUNREACH or similar.
	if err := waitDialFromNetns(ctx, n); err != nil {
		return nil, err
	}
	return n, nil
}

// waitDialFromNetns waits until the namespace reaches the host side.
func waitDialFromNetns(ctx context.Context, n *netns) error {
	l, err := net.Listen("tcp", net.JoinHostPort(n.hostIP, "0"))
	if err != nil {
		return fmt.Errorf("listening on %s to probe the veth pair: %w", n.hostIP, err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// bash's /dev/tcp: no netcat needed inside the namespace.
		err := runTool(ctx, "ip", "netns", "exec", n.name, "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/"+n.hostIP+"/"+port)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s cannot reach %s:%s over the veth pair: %w", n.name, n.hostIP, port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeSlash30 returns the first /30 of 10.231.7.0/24 with no address on
// this host, so that a namespace left by a killed run does not clash.
func freeSlash30() (int, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, fmt.Errorf("listing interface addresses: %w", err)
	}
	used := map[int]bool{}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip4 := ipn.IP.To4(); ip4 != nil && ip4[0] == 10 && ip4[1] == 231 && ip4[2] == 7 {
			used[int(ip4[3])&^3] = true
		}
	}
	for base := 0; base < 256; base += 4 {
		if !used[base] {
			return base, nil
		}
	}
	return 0, errors.New("every /30 of 10.231.7.0/24 is in use on this host")
}

// cut drops, inside the namespace, every TCP segment to or from the given
// ports on the host side: packets vanish as on a broken network, without
// the resets a closed port would send. (tc netem loss 100% does the same
// for all traffic, but needs the sch_netem kernel module, which machines
// such as this suite's CI do not always have, and cannot cut one peer.)
func (n *netns) cut(ctx context.Context, ports ...int) error {
	for _, p := range ports {
		ps := strconv.Itoa(p)
		for _, rule := range [][]string{
			{"-A", "OUTPUT", "-p", "tcp", "-d", n.hostIP, "--dport", ps, "-j", "DROP"},
			{"-A", "INPUT", "-p", "tcp", "-s", n.hostIP, "--sport", ps, "-j", "DROP"},
		} {
			if err := runTool(ctx, "ip", append([]string{"netns", "exec", n.name, "iptables", "-w"}, rule...)...); err != nil {
				return fmt.Errorf("cutting port %d: %w", p, err)
			}
		}
	}
	return nil
}

// heal removes every rule cut added.
func (n *netns) heal(ctx context.Context) error {
	for _, chain := range []string{"OUTPUT", "INPUT"} {
		if err := runTool(ctx, "ip", "netns", "exec", n.name, "iptables", "-w", "-F", chain); err != nil {
			return fmt.Errorf("healing the partition: %w", err)
		}
	}
	return nil
}

// remove deletes the veth pair and the namespace (its iptables rules go
// with it); missing pieces are not an error.
func (n *netns) remove(ctx context.Context) error {
	var errs []error
	if _, err := net.InterfaceByName(n.hostIf); err == nil {
		if err := runTool(ctx, "ip", "link", "del", n.hostIf); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat("/run/netns/" + n.name); err == nil {
		if err := runTool(ctx, "ip", "netns", "del", n.name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mountTmpfs mounts a tmpfs of size (mount's syntax: 512k, 1m) on dir;
// t.Cleanup unmounts it.
func mountTmpfs(ctx context.Context, t *testing.T, dir, size string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating mount point %s: %w", dir, err)
	}
	if err := runTool(ctx, "mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir); err != nil {
		return fmt.Errorf("mounting a %s tmpfs for the offsets file: %w", size, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Lazy: a process still holding a file there must not keep the
		// mount (and t.TempDir's removal) hanging.
		if err := runTool(ctx, "umount", "-l", dir); err != nil {
			t.Errorf("unmounting the offsets tmpfs: %v", err)
		}
	})
	return nil
}

// fillDisk writes zeros to path until the file system is full.
func fillDisk(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0, nil
		}
		return 0, fmt.Errorf("creating filler %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("filling %s: %w", path, err)
		}
	}
}
